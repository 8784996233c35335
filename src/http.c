/* SPDX-License-Identifier: MIT */
/* One HTTPS POST through libcurl, loaded with dlopen() on first use. */
#include "config.h"

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "log.h"
#include "util.h"

/* The part of libcurl's API credrun uses, resolved at run time. */
static struct {
    void *handle;
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    curl_version_info_data *(*version_info)(CURLversion);
} curl;

static enum cr_status load_curl(struct cr_err *err)
{
    if (curl.handle)
        return CR_OK;
    const char *soname = getenv("CREDRUN_LIBCURL");
    if (!soname || !*soname)
        soname = CURL_SONAME;
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        return cr_fail(err, CR_ERR_OS, "cannot load %s to refresh the token (%s); install libcurl (Debian: libcurl4)", soname,
                 dlerror());
    }
    struct {
        const char *name;
        void **slot;
    } syms[] = {
        {"curl_easy_init", (void **)&curl.easy_init},
        {"curl_easy_setopt", (void **)&curl.easy_setopt},
        {"curl_easy_perform", (void **)&curl.easy_perform},
        {"curl_easy_getinfo", (void **)&curl.easy_getinfo},
        {"curl_easy_cleanup", (void **)&curl.easy_cleanup},
        {"curl_easy_strerror", (void **)&curl.easy_strerror},
        {"curl_slist_append", (void **)&curl.slist_append},
        {"curl_slist_free_all", (void **)&curl.slist_free_all},
        {"curl_version_info", (void **)&curl.version_info},
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            cr_fail(err, CR_ERR_OS, "%s lacks %s; install a current libcurl", soname, syms[i].name);
            dlclose(h);
            return CR_ERR_OS;
        }
    }
    curl.handle = h;
    log_info("loaded %s for the refresh", soname);
    return CR_OK;
}

struct sink {
    struct http_response *res;
    size_t cap;
    size_t max;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    if (s->res->len + n > s->max) {
        s->res->too_large = true;
        return 0; /* abort the transfer */
    }
    if (s->res->len + n + 1 > s->cap) {
        size_t ncap = (s->res->len + n + 1) * 2;
        if (ncap > s->max + 1)
            ncap = s->max + 1;
        char *nb = xmalloc(ncap);
        if (s->res->body) {
            memcpy(nb, s->res->body, s->res->len);
            secret_free_n(s->res->body, s->cap);
        }
        s->res->body = nb;
        s->cap = ncap;
    }
    memcpy(s->res->body + s->res->len, data, n);
    s->res->len += n;
    s->res->body[s->res->len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct http_response *res = arg;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t vl = n - (sizeof name - 1);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl >= sizeof res->retry_after)
            vl = sizeof res->retry_after - 1;
        memcpy(res->retry_after, v, vl);
        res->retry_after[vl] = '\0';
    }
    return n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    const struct http_request *req = arg;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    req->tick(req->tick_arg);
    return 0;
}

enum cr_status http_post(const struct http_request *req, struct http_response *res, struct cr_err *err)
{
    memset(res, 0, sizeof *res);
    enum cr_status st = load_curl(err);
    if (st != CR_OK)
        return st;
    CURL *h = curl.easy_init();
    if (!h) {
        return cr_fail(err, CR_ERR_OS, "libcurl failed to start");
    }
    char ctype[128], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(ctype, sizeof ctype, "Content-Type: %s", req->content_type);
    struct curl_slist *headers = curl.slist_append(NULL, ctype);
    headers = curl.slist_append(headers, "Accept: application/json");
    headers = curl.slist_append(headers, "Expect:");
    struct sink sink = {.res = res, .max = req->max_response};

    curl.easy_setopt(h, CURLOPT_URL, req->url);
    curl.easy_setopt(h, CURLOPT_POST, 1L);
    curl.easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
    curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl.easy_setopt(h, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
    curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(h, CURLOPT_TIMEOUT, req->timeout_s);
    curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, req->timeout_s);
    curl.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, req->allow_http ? "http,https" : "https");
    curl.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl.easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    curl.easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_response);
    curl.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(h, CURLOPT_HEADERDATA, res);
    if (req->cacert)
        curl.easy_setopt(h, CURLOPT_CAINFO, req->cacert);
    if (req->loopback)
        curl.easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (req->tick) {
        curl.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl.easy_setopt(h, CURLOPT_XFERINFODATA, req);
        curl.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }

    CURLcode rc = curl.easy_perform(h);
    long status = 0;
    curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t pretransfer = 0;
    curl.easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    res->status = status;
    res->sent = pretransfer > 0 || status > 0;
    if (rc == CURLE_OK) {
        st = CR_OK;
    } else if (res->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        res->too_large = true;
        st = cr_fail(err, CR_ERR_BAD_RESPONSE, "token endpoint sent more than %zu bytes; the answer was discarded", req->max_response);
    } else if (rc == CURLE_OPERATION_TIMEDOUT && res->sent) {
        res->timed_out = true;
        st = cr_fail(err, CR_ERR_BAD_RESPONSE,
                 "token endpoint did not finish answering within %ld s (--http-timeout); it may have rotated the "
                 "refresh token: if the next run reports the token rejected, log in again",
                 req->timeout_s);
    } else {
        res->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        st = cr_fail(err, CR_ERR_UNREACHABLE, "cannot reach the token endpoint: %s", errbuf[0] ? errbuf : curl.easy_strerror(rc));
    }
    curl.slist_free_all(headers);
    curl.easy_cleanup(h);
    return st;
}

void http_response_free(struct http_response *res)
{
    secret_free_n(res->body, res->len);
    res->body = NULL;
    res->len = 0;
}
