/* SPDX-License-Identifier: MIT */
/* Unit tests for SHA-256: the FIPS 180-2 vectors, whole and in pieces. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "tap.h"
#include "util.h"

static void test_sha256(void)
{
    char hex[SHA256_HEX];
    sha256_hex("", 0, hex);
    is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of nothing");
    sha256_hex("abc", 3, hex);
    is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of abc");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two, strlen(two), hex);
    is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "sha256 of the two-block vector");

    /* A million 'a's fed in uneven pieces, across block boundaries. */
    char *a = xmalloc(1000000);
    memset(a, 'a', 1000000);
    struct sha256 s;
    unsigned char d[SHA256_DIGEST];
    sha256_init(&s);
    size_t off = 0, piece = 1;
    while (off < 1000000) {
        size_t n = piece < 1000000 - off ? piece : 1000000 - off;
        sha256_update(&s, a + off, n);
        off += n;
        piece = piece * 3 % 997 + 1;
    }
    sha256_final(&s, d);
    static const unsigned char want[SHA256_DIGEST] = {
        0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
        0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    ok(memcmp(d, want, sizeof want) == 0, "sha256 of a million a's fed piece by piece");
    free(a);
}

int main(void)
{
    test_sha256();
    return tap_done();
}
