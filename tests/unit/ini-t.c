/* SPDX-License-Identifier: MIT */
/* Unit tests for the INI tokenizer: sections, entries, trimming, comments,
 * line numbers, and FILE:LINE errors. What keys mean: profile-t.c. */
#include "config.h"

#include <string.h>

#include "ini.h"
#include "tap.h"

static struct cr_err err;

int main(void)
{
    struct ini ini;
    static const char text[] = "# comment\n"
                               "; also\n"
                               "[one]\n"
                               "  key =  value with spaces  \r\n"
                               "\n"
                               "[ two/prov ]\n"
                               "a=b=c\n"
                               "empty =\n";
    is_int(ini_parse(text, "t.conf", &ini, &err), CR_OK, "a file parses");
    is_int(ini.n, 2, "two sections");
    is_str(ini.s[0].name, "one", "the first");
    is_int(ini.s[0].line, 3, "with its line");
    is_str(ini.s[0].e[0].key, "key", "keys are trimmed");
    is_str(ini.s[0].e[0].value, "value with spaces", "values are trimmed, CR too");
    is_int(ini.s[0].e[0].line, 4, "entries keep their line");
    is_str(ini.s[1].name, "two/prov", "a provider section, trimmed");
    is_str(ini.s[1].e[0].value, "b=c", "the value is all after the first '='");
    is_str(ini.s[1].e[1].value, "", "an empty value");
    ok(ini_find(&ini, "two/prov") == &ini.s[1], "ini_find finds a section");
    ok(ini_find(&ini, "three") == NULL && ini_find(NULL, "one") == NULL, "and NULL for none");
    ini_free(&ini);
    ini_free(&ini); /* twice is harmless */

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[a]\n[a]\n", "x.conf:2: profile [a] is already defined at line 1"},
        {"[a] b\n", "x.conf:1: a section header is [NAME] alone on its line"},
        {"[a\n", "x.conf:1: a section header"},
        {"[a/b/c]\n", "x.conf:1: bad profile name"},
        {"[/b]\n", "x.conf:1: bad profile name"},
        {"k = v\n", "x.conf:1: KEY = VALUE before any [NAME] section"},
        {"[a]\n\n\nnonsense\n", "x.conf:4: expected KEY = VALUE or [NAME]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        enum cr_status st = ini_parse(bad[i].text, "x.conf", &ini, &err);
        ok(st == CR_ERR_PROFILES_CONF && strstr(err.msg, bad[i].want) && ini.n == 0,
           "refused with FILE:LINE: %s", err.msg);
    }
    ok(ini_section_name_ok("a.b-c_d/e"), "names of letters, digits, '.', '-', '_' and one '/'");
    ok(!ini_section_name_ok("a b") && !ini_section_name_ok("") && !ini_section_name_ok("a/"), "not others");
    return tap_done();
}
