/* SPDX-License-Identifier: MIT */
/* The pointer variants of the round-trip targets (json_pointers,
 * transit_pointers): the fields come from the input, as a user types them,
 * so that what credrun does with any pointer and any key is fuzzed too
 * (invalid UTF-8, "~" escapes, steps through arrays, a token below
 * another). The input is four lines and then the document:
 *
 *     ACCESS\nREFRESH\nEXPIRY\nUNIT\nDOCUMENT
 *
 * given as --access-field, --refresh-field, --expiry-field and
 * --expiry-unit (an empty EXPIRY or UNIT: that option is left out) with
 * -p PROFILE --credentials FILE --token-url URL --refresh, through the
 * command line (cli_parse) and the run's configuration (config_resolve)
 * as credrun takes them. What credrun refuses there must be a usage error
 * with a message; what it takes goes to the codec with the document. */
#ifndef CREDRUN_FUZZ_FIELDS_H
#define CREDRUN_FUZZ_FIELDS_H

#include "cli.h"
#include "fuzz.h"
#include "runconfig.h"

/* A header line longer than this is not tried (a longer pointer says
 * nothing new; the oracle judges tokens up to 63 bytes, FUZZ_MAX_DEPTH deep). */
#define FUZZ_FIELD_MAX 200

struct fuzz_fields {
    char *text;         /* the header lines, each NUL-terminated; argv points into it */
    const char *doc;    /* the document, in the input */
    size_t doclen;
    struct run_config rc; /* valid when fuzz_fields_from_input returned true */
    bool have_rc;
};

/* ---- the module's API, in one place --------------------------------------- */

static enum cr_status fuzz_fields_resolve(int argc, char **argv, struct run_config *rc, bool *have_rc,
                                          struct cr_err *err)
{
    struct cli c;
    *have_rc = false;
    enum cr_status st = cli_parse(argc, argv, &c, err);
    if (st != CR_OK)
        return st;
    FUZZ_CHECK(!c.done, "--help or --version from a fixed command line");
    *have_rc = true;
    return config_resolve(&c, rc, err);
}

/* ---- the input ------------------------------------------------------------ */

/* Split data into the header and the document and resolve the fields with
 * profile (-p). False when the input has no whole header or credrun
 * refused the options (then a usage error with a message was checked).
 * Call fuzz_fields_free in both cases. */
static FUZZ_UNUSED bool fuzz_fields_from_input(const uint8_t *data, size_t size, const char *profile,
                                               struct fuzz_fields *ff)
{
    memset(ff, 0, sizeof *ff);
    /* XDG_CONFIG_HOME with no profiles.conf: only the built-in profiles */
    setenv("XDG_CONFIG_HOME", "/nonexistent/credrun-fuzz", 1);
    const char *line[4];
    size_t at = 0;
    ff->text = malloc(size + 1);
    FUZZ_CHECK(ff->text, "out of memory");
    memcpy(ff->text, data, size);
    ff->text[size] = '\0';
    for (int i = 0; i < 4; i++) {
        char *nl = memchr(ff->text + at, '\n', size - at);
        if (!nl || nl - (ff->text + at) > FUZZ_FIELD_MAX)
            return false;
        *nl = '\0';
        line[i] = ff->text + at;
        if (strlen(line[i]) != (size_t)(nl - line[i]))
            return false; /* a NUL: no argument holds one */
        at = (size_t)(nl - ff->text) + 1;
    }
    ff->doc = (const char *)data + at;
    ff->doclen = size - at;

    char *argv[20];
    int argc = 0;
    argv[argc++] = (char *)"credrun";
    argv[argc++] = (char *)"-p";
    argv[argc++] = (char *)profile;
    argv[argc++] = (char *)"--credentials";
    argv[argc++] = (char *)"/nonexistent/credrun-fuzz/creds";
    argv[argc++] = (char *)"--token-url";
    argv[argc++] = (char *)"https://example.com/oauth/token";
    argv[argc++] = (char *)"--access-field";
    argv[argc++] = (char *)line[0];
    argv[argc++] = (char *)"--refresh-field";
    argv[argc++] = (char *)line[1];
    if (*line[2]) {
        argv[argc++] = (char *)"--expiry-field";
        argv[argc++] = (char *)line[2];
    }
    if (*line[3]) {
        argv[argc++] = (char *)"--expiry-unit";
        argv[argc++] = (char *)line[3];
    }
    argv[argc++] = (char *)"--refresh";
    argv[argc] = NULL;

    struct cr_err err;
    cr_clear(&err);
    enum cr_status st = fuzz_fields_resolve(argc, argv, &ff->rc, &ff->have_rc, &err);
    FUZZ_CHECK(st == CR_OK || (st == CR_ERR_USAGE && err.status == st && err.msg[0]),
               "options refused with status %d: '%s'", (int)st, err.msg);
    if (st != CR_OK)
        return false;
    FUZZ_CHECK(ff->rc.fields && ff->rc.fields->access && ff->rc.fields->refresh, "no token fields");
    return true;
}

static FUZZ_UNUSED void fuzz_fields_free(struct fuzz_fields *ff)
{
    if (ff->have_rc)
        config_free(&ff->rc);
    free(ff->text);
}

#endif
