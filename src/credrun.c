/* SPDX-License-Identifier: MIT */
/* credrun: take the shared credential lock, refresh the OAuth token only if
 * it expires soon, export it and exec COMMAND. main() only wires the
 * modules together, prints the one error and maps it to an exit status. */
#include "config.h"

#include <unistd.h>

#include "cli.h"
#include "command.h"
#include "log.h"
#include "procsafe.h"
#include "refresh.h"
#include "report.h"
#include "runconfig.h"
#include "status.h"
#include "supervise.h"

/* A plain run: refresh if needed, then exec COMMAND in place. */
static enum cr_status run(const struct run_config *rc, struct cr_err *err)
{
    struct fresh f;
    enum cr_status st = refresh_ensure(rc, &f, err);
    if (st != CR_OK) {
        if (!command_may_proceed(rc, &f, err)) {
            command_report(&f, err);
            fresh_free(&f);
            return st;
        }
        cr_clear(err);
        st = CR_OK;
    }
    if (rc->command) {
        if (rc->scope == RUN_SCOPE_REFRESH) {
            close(f.lock_fd);
            f.lock_fd = -1;
        }
        /* else COMMAND inherits the locked descriptor, like flock(1): it was
         * opened without close-on-exec (rc->lock_inherited) */
        st = command_exec(rc, f.access, err);
        log_error("%s", err->msg);
    }
    fresh_free(&f);
    return st;
}

int main(int argc, char **argv)
{
    procsafe_init(); /* before any secret is read */
    struct cli c;
    struct cr_err err;
    enum cr_status st = cli_parse(argc, argv, &c, &err);
    if (st != CR_OK || c.done) {
        if (st != CR_OK) {
            log_error("%s", err.msg);
            cli_usage_hint();
        }
        return status_exit_code(st, -1);
    }
    log_set_level(c.verbosity);
    struct run_config rc;
    st = config_resolve(&c, &rc, &err);
    int code, sig = 0;
    if (st == CR_OK && rc.warning)
        log_warn("%s", rc.warning);
    if (st != CR_OK) {
        log_error("%s", err.msg);
        if (st == CR_ERR_USAGE)
            cli_usage_hint();
        code = status_exit_code(st, c.conflict_exit);
    } else if (rc.status) {
        code = report_run(&rc);
    } else if (rc.supervise) {
        code = supervise_run(&rc, &sig);
    } else {
        code = status_exit_code(run(&rc, &err), rc.conflict_exit);
    }
    config_free(&rc);
    if (sig)
        procsafe_die_of(sig); /* COMMAND died of it: the shell sees the same signal */
    return code;
}
