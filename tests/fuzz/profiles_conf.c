/* SPDX-License-Identifier: MIT */
/* libFuzzer target: profiles.conf (src/profile.c). Each input is written as
 * $XDG_CONFIG_HOME/credrun/profiles.conf (a private temporary directory) and
 * every section it names, and the built-in "json", is set up as -p NAME
 * would: then the file rule is expanded, the lock templates, the token URL
 * and the shape are asked for. A failure is a usage or configuration error
 * with a message (configuration errors name the file and line); a success
 * says where the tokens are. */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "creds.h"
#include "fuzz.h"
#include "profile.h"

static char conf_dir[256], conf_path[300];

static void cleanup(void)
{
    unlink(conf_path);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/credrun", conf_dir);
    rmdir(sub);
    rmdir(conf_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(conf_dir, sizeof conf_dir, "%s/credrun-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(conf_dir), "mkdtemp %s", conf_dir);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/credrun", conf_dir);
    FUZZ_CHECK(mkdir(sub, 0700) == 0, "mkdir %s", sub);
    snprintf(conf_path, sizeof conf_path, "%s/profiles.conf", sub);
    setenv("XDG_CONFIG_HOME", conf_dir, 1);
    setenv("HOME", conf_dir, 1);
    atexit(cleanup);
    return 0;
}

/* ---- the module's API, in one place --------------------------------------- */

static enum cr_status setup(struct options *o, const char *name, const char *provider, char *msg, size_t msglen)
{
    struct profile_select sel = {.name = name, .provider = provider};
    memset(o, 0, sizeof *o);
    return profile_setup(o, &sel, msg, msglen);
}

static void use(struct options *o)
{
    char *file = profile_file(o);
    free(file);
    profile_expand_locks(o, "/nonexistent/credrun-fuzz/dir/creds.json");
    struct tokens t = {.base_url = (char *)"https://example.com/base/", .expires_ms = 0};
    char *url = NULL, msg[CR_ERR_MSG_MAX];
    bool loopback;
    enum cr_status st = profile_token_url(o, &t, &url, &loopback, msg, sizeof msg);
    FUZZ_CHECK(st == CR_OK || st == CR_ERR_CONFIG, "profile_token_url: status %d", (int)st);
    FUZZ_CHECK(st != CR_OK || url, "profile_token_url: CR_OK without a URL");
    free(url);
    (void)profile_shape(o);
    FUZZ_CHECK(profile_login_hint(o), "no login hint");
    (void)profile_check_supervise(o, msg, sizeof msg);
}

/* ---- the oracle ----------------------------------------------------------- */

static void check(const char *name, const char *provider)
{
    struct options o;
    char msg[CR_ERR_MSG_MAX];
    msg[0] = '\0';
    enum cr_status st = setup(&o, name, provider, msg, sizeof msg);
    FUZZ_CHECK(st == CR_OK || st == CR_ERR_USAGE || st == CR_ERR_CONFIG, "profile_setup(%s): status %d: %s", name,
               (int)st, msg);
    FUZZ_CHECK(st == CR_OK || msg[0], "profile_setup(%s): failure without a message", name);
    if (st == CR_ERR_CONFIG)
        FUZZ_CHECK(strstr(msg, conf_path), "a configuration error that names no file: %s", msg);
    if (st == CR_OK) {
        FUZZ_CHECK(o.fields && o.fields->access && o.fields->refresh, "profile %s set up without token fields", name);
        FUZZ_CHECK(o.format, "profile %s set up without a codec", name);
        use(&o);
    }
    options_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = open(conf_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0, "open %s", conf_path);
    FUZZ_CHECK(write(fd, data, size) == (ssize_t)size, "write %s", conf_path);
    close(fd);

    /* the sections the input names, then built-in ones it may extend */
    char *text = fuzz_cstr(data, size);
    int n = 0;
    for (char *line = text; line && n < 4;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *end = strchr(line, ']');
        if (line[0] == '[' && end) {
            *end = '\0';
            char *slash = strchr(line + 1, '/');
            if (slash) {
                *slash = '\0';
                check(line + 1, slash + 1);
            } else {
                check(line + 1, NULL);
            }
            n++;
        }
        line = next;
    }
    free(text);
    check("json", NULL);
    check("eca", "openai");
    return 0;
}
