/* SPDX-License-Identifier: MIT */
/* The entry point the round-trip targets share. A target defines
 * check_one(fields, doc, len) and fieldsets[], then names its profile and
 * codec: FUZZ_ROUNDTRIP_ENTRY("json", creds_format_json). Built plainly
 * (json_roundtrip, transit_roundtrip), each input is tried with every
 * fixed field set; built with FUZZ_FIELDS_FROM_INPUT (json_pointers,
 * transit_pointers), the fields come from the input's header with
 * -p PROFILE (fuzz_fields.h), which must resolve to that codec. */
#ifndef CREDRUN_FUZZ_ENTRY_H
#define CREDRUN_FUZZ_ENTRY_H

#ifdef FUZZ_FIELDS_FROM_INPUT
#include "fuzz_fields.h"

#define FUZZ_ROUNDTRIP_ENTRY(profile, codec)                                                                  \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                             \
    {                                                                                                         \
        struct fuzz_fields ff;                                                                                \
        if (fuzz_fields_from_input(data, size, profile, &ff)) {                                               \
            FUZZ_CHECK(ff.rc.format == &(codec), "-p " profile " resolved to another codec");                 \
            check_one(ff.rc.fields, ff.doc, ff.doclen);                                                       \
        }                                                                                                     \
        fuzz_fields_free(&ff);                                                                                \
        return 0;                                                                                             \
    }
#else
#define FUZZ_ROUNDTRIP_ENTRY(profile, codec)                                                                  \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                             \
    {                                                                                                         \
        for (size_t i = 0; i < sizeof fieldsets / sizeof *fieldsets; i++)                                    \
            check_one(&fieldsets[i], (const char *)data, size);                                               \
        return 0;                                                                                             \
    }
#endif

#endif
