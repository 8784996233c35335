/* SPDX-License-Identifier: MIT */
/* Unit tests for --status's pure parts: /proc/locks parsing, a command line
 * from /proc/PID/cmdline, the exit status, the JSON document and the text. */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "expiry.h"
#include "proclocks.h"
#include "report.h"
#include "tap.h"

static const char LOCKS[] = "1: POSIX  ADVISORY  WRITE 700 fe:00:4242 0 EOF\n"
                            "2: FLOCK  ADVISORY  WRITE 801 08:11:4242 0 EOF\n"
                            "3: FLOCK  ADVISORY  WRITE 900 fe:00:4242 0 EOF\n"
                            "3: -> FLOCK  ADVISORY  WRITE 901 fe:00:4242 0 EOF\n"
                            "4: -> FLOCK  ADVISORY  WRITE 950 fe:00:5555 0 EOF\n"
                            "5: OFDLCK ADVISORY  READ  -1 fe:00:6666 0 EOF\n"
                            "6: FLOCK  ADVISORY  WRITE -1 fe:00:7777 0 EOF\n";

static void test_proclocks(void)
{
    long pid = -5;
    ok(proclocks_find(LOCKS, 0xfe, 0, 4242, &pid) && pid == 900,
       "the flock holder on fe:00:4242, not a POSIX lock or another device's inode (%ld)", pid);
    ok(proclocks_find(LOCKS, 0x08, 0x11, 4242, &pid) && pid == 801, "major and minor are hex");
    ok(!proclocks_find(LOCKS, 0xfe, 0, 5555, &pid), "a waiter (->) is no holder");
    ok(!proclocks_find(LOCKS, 0xfe, 0, 6666, &pid), "an OFD lock is not credrun's flock");
    ok(proclocks_find(LOCKS, 0xfe, 0, 7777, &pid) && pid == 0, "a held flock whose PID is not shown: held, PID 0");
    ok(!proclocks_find(LOCKS, 0xfe, 0, 424, &pid), "an inode's prefix does not match");
    ok(!proclocks_find("", 0xfe, 0, 4242, &pid), "no locks at all");
    ok(!proclocks_find("garbage\n\n1: FLOCK\n", 0xfe, 0, 4242, &pid), "garbage is no lock");
    ok(proclocks_find("3: FLOCK  ADVISORY  WRITE 12 fe:00:4242 0 EOF", 0xfe, 0, 4242, &pid) && pid == 12,
       "a last line without a newline");

    char buf[32];
    proc_command_format("credrun\0-q\0--refresh\0", 21, buf, sizeof buf);
    is_str(buf, "credrun -q --refresh", "argv joined by spaces");
    proc_command_format("sh\0-c\0echo \x1b[2J\n", 17, buf, sizeof buf);
    is_str(buf, "sh -c echo ?[2J", "control bytes become ?");
    proc_command_format("a-very-long-command-line-that-goes-on", 37, buf, 16);
    is_str(buf, "a-very-long-...", "a long command line is cut with ...");
    proc_command_format("", 0, buf, sizeof buf);
    is_str(buf, "", "an empty cmdline is empty");
}

#define NOW 1764000000000LL /* 2025-11-24T16:00:00Z */

static struct report base(void)
{
    struct report r;
    memset(&r, 0, sizeof r);
    r.now_ms = NOW;
    r.file = "/h/.claude/.credentials.json";
    r.profile = "claude";
    r.login_hint = "claude /login";
    r.min_validity = 600;
    r.lock_path = "/h/.claude/.credentials.json.credrun.lock";
    r.access_present = r.refresh_present = true;
    r.expires_ms = NOW + 3600000;
    return r;
}

static void test_exit(void)
{
    struct report r = base();
    is_int(report_exit(&r), 0, "fresh: 0");
    r.refresh_due = true;
    is_int(report_exit(&r), 1, "a refresh due: 1");
    r.cooling = true;
    is_int(report_exit(&r), 1, "a cooldown for another endpoint does not block: 1");
    r.cooldown_blocks = true;
    is_int(report_exit(&r), 75, "due, and the cooldown blocks it: 75");
    r.refresh_due = false;
    is_int(report_exit(&r), 0, "a cooldown while fresh is still fresh: 0");
    r = base();
    r.quarantined = true;
    is_int(report_exit(&r), 77, "quarantined: 77");
    r = base();
    r.refresh_present = false;
    is_int(report_exit(&r), 0, "no refresh token while the access token is fresh: 0");
    r.refresh_due = true;
    is_int(report_exit(&r), 1, "... and due but still valid: 1");
    r.expires_ms = NOW - 1000;
    is_int(report_exit(&r), 77, "no refresh token and the access token expired: 77");
    r.access_present = false;
    is_int(report_exit(&r), 77, "no tokens at all: 77");
}

/* The keys of a JSON object, joined by commas. */
static void keys(json_t *o, char *buf, size_t len)
{
    buf[0] = '\0';
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        (void)v;
        strncat(buf, k, len - strlen(buf) - 2);
        strcat(buf, ",");
    }
}

static void test_json(void)
{
    struct report r = base();
    r.lock_exists = r.lock_held = true;
    r.holder_pid = 4321;
    strcpy(r.holder_command, "credrun --refresh");
    r.app_locks[0].path = "/h/.claude/.oauth_refresh.lock";
    r.app_locks[0].age_s = 12;
    r.n_app_locks = 1;
    r.refresh_due = true;
    r.cooling = r.cooldown_blocks = true;
    strcpy(r.reason, "429");
    strcpy(r.endpoint, "https://platform.claude.com/v1/oauth/token");
    r.until_ms = NOW + 58000;
    char *text = report_json(&r);
    json_error_t jerr;
    json_t *d = json_loads(text, 0, &jerr);
    ok(d != NULL && text[strlen(text) - 1] == '\n', "one JSON document and a newline");
    char k[512];
    keys(d, k, sizeof k);
    is_str(k, "file,profile,lock,app_locks,access,refresh_token_present,refresh_due,cooldown,quarantine,",
           "exactly the documented keys, in order");
    keys(json_object_get(d, "lock"), k, sizeof k);
    is_str(k, "path,held,holder_pid,holder_command,", "lock's keys");
    keys(json_object_get(d, "access"), k, sizeof k);
    is_str(k, "expires_at,expires_in_s,", "access's keys");
    keys(json_object_get(d, "cooldown"), k, sizeof k);
    is_str(k, "reason,endpoint,until,", "cooldown's keys");
    is_int(json_integer_value(json_object_get(json_object_get(d, "lock"), "holder_pid")), 4321, "holder_pid");
    is_str(json_string_value(json_object_get(json_object_get(d, "access"), "expires_at")), "2025-11-24T17:00:00.000Z",
           "expires_at is RFC 3339");
    is_int(json_integer_value(json_object_get(json_object_get(d, "access"), "expires_in_s")), 3600, "expires_in_s");
    json_t *a = json_array_get(json_object_get(d, "app_locks"), 0);
    ok(a && json_integer_value(json_object_get(a, "age_s")) == 12 &&
           strcmp(json_string_value(json_object_get(a, "path")), "/h/.claude/.oauth_refresh.lock") == 0,
       "an app lock with its age");
    is_str(json_string_value(json_object_get(json_object_get(d, "cooldown"), "until")), "2025-11-24T16:00:58.000Z",
           "the cooldown's end");
    ok(json_is_null(json_object_get(d, "quarantine")), "no quarantine: null");
    json_decref(d);
    free(text);

    r = base();
    r.expires_ms = NOW - 90500;
    r.quarantined = true;
    r.quarantine_since_ms = NOW - 1000;
    text = report_json(&r);
    d = json_loads(text, 0, &jerr);
    json_t *lock = json_object_get(d, "lock");
    ok(json_is_false(json_object_get(lock, "held")) && json_is_null(json_object_get(lock, "holder_pid")) &&
           json_is_null(json_object_get(lock, "holder_command")),
       "a free lock: held false, no holder");
    is_int(json_integer_value(json_object_get(json_object_get(d, "access"), "expires_in_s")), -90,
           "an expired token's expires_in_s is negative");
    ok(json_is_null(json_object_get(d, "cooldown")), "no cooldown: null");
    keys(json_object_get(d, "quarantine"), k, sizeof k);
    is_str(k, "since,", "quarantine's keys");
    ok(json_array_size(json_object_get(d, "app_locks")) == 0, "no app locks: an empty array");
    json_decref(d);
    free(text);

    r = base();
    r.expires_ms = EXPIRY_UNKNOWN;
    text = report_json(&r);
    d = json_loads(text, 0, &jerr);
    ok(json_is_null(json_object_get(json_object_get(d, "access"), "expires_at")) &&
           json_is_null(json_object_get(json_object_get(d, "access"), "expires_in_s")),
       "an unknown expiry is null");
    json_decref(d);
    free(text);
}

static void test_text(void)
{
    struct report r = base();
    r.lock_exists = r.lock_held = true;
    r.holder_pid = 4321;
    strcpy(r.holder_command, "credrun --refresh");
    r.refresh_due = true;
    r.cooling = r.cooldown_blocks = true;
    strcpy(r.reason, "503");
    r.until_ms = NOW + 58000;
    char *t = report_text(&r);
    ok(strstr(t, "lock:          /h/.claude/.credentials.json.credrun.lock: held by PID 4321 (credrun --refresh)\n") != NULL,
       "the holder's PID and command");
    ok(strstr(t, "access token:  expires 2025-11-24T17:00:00.000Z (in 60 min)\n") != NULL, "absolute and relative expiry");
    ok(strstr(t, "cooldown:      503, for every endpoint, until 2025-11-24T16:00:58.000Z (in 58 s)\n") != NULL,
       "a cooldown recorded without an endpoint holds back every endpoint");
    ok(strstr(t, "status:        refresh due, but the cooldown holds it back until") != NULL, "the verdict says until when");
    free(t);
    r = base();
    r.refresh_present = false;
    r.expires_ms = NOW - 3 * 3600000 - 5 * 60000;
    t = report_text(&r);
    ok(strstr(t, "access token:  expired 2025-11-24T12:55:00.000Z (3 h 5 min ago)\n") != NULL, "an expired token");
    ok(strstr(t, "status:        log in again (claude /login)\n") != NULL, "what to do next");
    ok(strstr(t, "lock:          /h/.claude/.credentials.json.credrun.lock: not there yet") != NULL, "no lock file yet");
    free(t);
}

int main(void)
{
    test_proclocks();
    test_exit();
    test_json();
    test_text();
    return tap_done();
}
