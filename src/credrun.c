/* SPDX-License-Identifier: MIT */
/* credrun: take the shared credential lock, refresh the OAuth token only if
 * it expires soon, export it and exec COMMAND. main() only wires the
 * modules together and maps the outcome to an exit status. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "expiry.h"
#include "log.h"
#include "refresh.h"
#include "status.h"
#include "supervise.h"

static int finish(const struct options *o, enum cr_status st)
{
    return status_exit_code(st, o->conflict_exit);
}

/* Replace this process with COMMAND; returns only on failure. */
static enum cr_status run_command(const struct options *o, struct fresh *f)
{
    if (o->env_name && f->access && setenv(o->env_name, f->access, 1) != 0) {
        log_error("cannot set %s: %s", o->env_name, strerror(errno));
        return CR_ERR_OS;
    }
    if (o->scope == SCOPE_REFRESH) {
        close(f->lock_fd);
        f->lock_fd = -1;
    } else {
        /* COMMAND inherits the locked descriptor, like flock(1). */
        fcntl(f->lock_fd, F_SETFD, 0);
    }
    execvp(o->command[0], o->command);
    int err = errno;
    log_error("cannot run '%s': %s", o->command[0], strerror(err));
    return err == ENOENT || err == ENOTDIR ? CR_ERR_NOT_FOUND : CR_ERR_EXEC;
}

int main(int argc, char **argv)
{
    struct options o;
    bool done;
    enum cr_status st = cli_parse(argc, argv, &o, &done);
    if (st != CR_OK || done) {
        int code = finish(&o, st);
        options_free(&o);
        return code;
    }
    if (o.supervise) {
        int code = supervise_run(&o);
        options_free(&o);
        return code;
    }

    struct fresh f;
    st = refresh_ensure(&o, &f);
    if (st != CR_OK) {
        if (st == CR_ERR_LOCK_BUSY && f.lock_fd < 0) {
            log_warn("%s", f.why);
        } else if (o.refresh_only || !f.usable) {
            log_error("%s", f.why);
        } else {
            long long left = (long long)expiry_seconds_left(f.expires_ms, expiry_now_ms());
            log_warn("%s; running %s with the current access token (valid %lld s more)", f.why, o.command[0], left);
            st = CR_OK;
        }
    }
    if (st == CR_OK && o.command)
        st = run_command(&o, &f);
    fresh_free(&f);
    int code = finish(&o, st);
    options_free(&o);
    return code;
}
