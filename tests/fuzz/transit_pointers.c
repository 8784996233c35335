/* SPDX-License-Identifier: MIT */
/* libFuzzer target: transit_roundtrip with the JSON pointers taken from the input, as
 * --access-field, --refresh-field, --expiry-field and --expiry-unit
 * (tests/fuzz/fuzz_fields.h says how): the same codec, the same oracle. */
#define FUZZ_FIELDS_FROM_INPUT 1
#include "transit_roundtrip.c"
