/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4), small and self-contained: credrun names a refresh
 * token by its hash (the quarantine in the state file) and never stores the
 * token itself. */
#ifndef CREDRUN_SHA256_H
#define CREDRUN_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST 32
#define SHA256_HEX (2 * SHA256_DIGEST + 1)

struct sha256 {
    uint32_t h[8];
    uint64_t len;       /* bytes hashed so far */
    unsigned char buf[64];
    size_t fill;        /* bytes waiting in buf */
};

/* Start, feed and finish a hash; sha256_final wipes the context. */
void sha256_init(struct sha256 *s) __attribute__((__nonnull__));
void sha256_update(struct sha256 *s, const void *data, size_t len) __attribute__((__nonnull__(1)));
void sha256_final(struct sha256 *s, unsigned char out[SHA256_DIGEST]) __attribute__((__nonnull__));

/* The hash of len bytes at data as 64 lower-case hex digits and a NUL in hex. */
void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX]) __attribute__((__nonnull__(3)));

#endif
