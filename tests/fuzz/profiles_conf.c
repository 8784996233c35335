/* SPDX-License-Identifier: MIT */
/* libFuzzer target: profiles.conf (src/profile.c). Each input is written as
 * $XDG_CONFIG_HOME/credrun/profiles.conf (a private temporary directory) and
 * every section it names (alone, and with --credentials and --token-url),
 * and the built-ins
 * "json" and "eca/openai", is resolved into the run's configuration as -p
 * NAME would (config_resolve: the file rule and lock templates expanded,
 * the token URL checked), then the token URL for a file holding a base URL
 * is asked for. A failure is a usage or profiles.conf error with a message
 * (profiles.conf errors name the file); a success says where the
 * tokens are, which files and locks, and which endpoint. */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "creds.h"
#include "fuzz.h"
#include "runconfig.h"

#define CREDS_FILE "/nonexistent/credrun-fuzz/dir/creds.json"

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

/* The run's configuration for -p NAME [--provider P] --refresh, and with
 * given also --credentials FILE --token-url URL, as config_resolve() makes
 * it from the command line. */
static enum cr_status setup(struct run_config *rc, const char *name, const char *provider, bool given,
                            struct cr_err *err)
{
    struct cli c = {.min_validity = -1, .http_timeout = -1, .wait_timeout = -1, .conflict_exit = -1};
    c.profile = name;
    c.provider = provider;
    c.credentials = given ? CREDS_FILE : NULL;
    c.token_url = given ? "https://example.com/oauth/token" : NULL;
    c.refresh_only = true;
    return config_resolve(&c, rc, err);
}

/* The token endpoint for a file that holds a base URL. */
static enum cr_status token_url(const struct run_config *rc, char **url, bool *loopback, struct cr_err *err)
{
    struct tokens t = {.base_url = (char *)"https://example.com/base/", .expires_ms = 0};
    return config_token_url(rc, &t, url, loopback, err);
}

/* ---- the oracle ----------------------------------------------------------- */

static void check(const char *name, const char *provider, bool given)
{
    struct run_config rc;
    struct cr_err err;
    cr_clear(&err);
    enum cr_status st = setup(&rc, name, provider, given, &err);
    FUZZ_CHECK(st == CR_OK || st == CR_ERR_USAGE || st == CR_ERR_PROFILES_CONF, "-p %s: status %d: %s", name,
               (int)st, err.msg);
    FUZZ_CHECK(st == CR_OK || (err.status == st && err.msg[0]), "-p %s: failure without its error", name);
    if (st == CR_ERR_PROFILES_CONF)
        FUZZ_CHECK(strstr(err.msg, conf_path), "a profiles.conf error that does not name the file: %s", err.msg);
    if (st == CR_OK) {
        FUZZ_CHECK(rc.fields && rc.fields->access && rc.fields->refresh, "-p %s set up without token fields", name);
        FUZZ_CHECK(rc.format, "-p %s set up without a codec", name);
        FUZZ_CHECK(rc.shape, "-p %s set up without an answer shape", name);
        FUZZ_CHECK(rc.token_url, "-p %s set up without a token URL", name);
        FUZZ_CHECK(rc.credentials && rc.lock_file, "-p %s set up without its files", name);
        FUZZ_CHECK(rc.login_hint && rc.login_hint[0], "-p %s: no login hint", name);
        for (int write = 0; write < 2; write++) {
            size_t n;
            const struct applock_spec *locks = config_app_locks(&rc, write, &n);
            for (size_t i = 0; i < n; i++)
                FUZZ_CHECK(locks[i].path && locks[i].path[0], "-p %s: empty lock path", name);
        }
        char *url = NULL;
        bool loopback;
        cr_clear(&err);
        st = token_url(&rc, &url, &loopback, &err);
        FUZZ_CHECK(st == CR_OK || (st == CR_ERR_BASE_URL && err.status == st && err.msg[0]),
                   "-p %s: token URL: status %d: %s", name, (int)st, err.msg);
        FUZZ_CHECK((st == CR_OK) == (url != NULL), "-p %s: token URL: status %d with URL %s", name, (int)st,
                   url ? url : "(none)");
        free(url);
    }
    config_free(&rc);
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
            if (slash)
                *slash++ = '\0';
            check(line + 1, slash, false);
            check(line + 1, slash, true);
            n++;
        }
        line = next;
    }
    free(text);
    check("json", NULL, true);
    check("eca", "openai", false);
    return 0;
}
