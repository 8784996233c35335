# SPDX-License-Identifier: MIT
# Turn src/profiles.builtin.conf into C tables (src/profiles_builtin.c): the
# sections and entries ini_parse (src/ini.c) would make of the same text, so
# that no run parses the built-in profiles. Usage:
#   awk -f src/profiles2c.awk src/profiles.builtin.conf > src/profiles_builtin.c
# Tokenizes as ini.c does (trimmed lines; # and ; comments; [NAME]; KEY =
# VALUE split at the first '='); anything else stops the build, and
# tests/unit/profile-t.c compares the result with ini_parse's.

function trim(s) {
    sub(/^[ \t]+/, "", s)
    sub(/[ \t\r]+$/, "", s)
    return s
}
# s as a C string literal; by hand, since awks differ on backslashes in
# gsub's replacement.
function cstr(s,    out, i, c) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\" || c == "\"")
            out = out "\\"
        out = out c
    }
    return "\"" out "\""
}
function fail(msg) {
    printf "%s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
    failed = 1
    exit 1
}

BEGIN { ns = 0 }
{
    l = trim($0)
    if (l == "" || l ~ /^[#;]/)
        next
    if (l ~ /^\[/) {
        if (l !~ /^\[[^]]*\]$/)
            fail("a section header is [NAME] alone on its line")
        name = trim(substr(l, 2, length(l) - 2))
        if (name !~ /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?$/)
            fail("bad profile name '" name "'")
        for (i = 0; i < ns; i++)
            if (sname[i] == name)
                fail("profile [" name "] is already defined")
        sname[ns] = name
        sline[ns] = FNR
        ne[ns] = 0
        ns++
        next
    }
    eq = index(l, "=")
    if (eq == 0)
        fail("expected KEY = VALUE or [NAME]")
    if (ns == 0)
        fail("KEY = VALUE before any [NAME] section")
    s = ns - 1
    k = ne[s]++
    key[s, k] = trim(substr(l, 1, eq - 1))
    val[s, k] = trim(substr(l, eq + 1))
    kline[s, k] = FNR
}
# A string's offset in the pool, adding it the first time.
function pooled(str) {
    if (!(str in at)) {
        at[str] = poolsize
        poolsize += length(str) + 1
        poolorder[npool++] = str
    }
    return at[str]
}
END {
    if (failed)
        exit 1
    # Pointer-free tables (offsets into one pool), made into the struct ini
    # ini_parse would make when first asked for: a table of pointers would
    # be relocated each time credrun is loaded, and only a run with a
    # profiles.conf reads these.
    poolsize = 0
    npool = 0
    nent = 0
    for (s = 0; s < ns; s++) {
        sfirst[s] = nent
        sn[s] = pooled(sname[s])
        for (k = 0; k < ne[s]; k++) {
            ek[nent] = pooled(key[s, k])
            ev[nent] = pooled(val[s, k])
            el[nent] = kline[s, k]
            nent++
        }
    }
    print "/* Generated from src/profiles.builtin.conf by src/profiles2c.awk: do not edit. */"
    print "#include \"config.h\""
    print ""
    print "#include \"profile.h\""
    print ""
    print "static const char pool[] ="
    for (i = 0; i < npool; i++)
        printf "    %s%s\n", substr(cstr(poolorder[i]), 1, length(cstr(poolorder[i])) - 1) (i < npool - 1 ? "\\0\"" : "\""), (i < npool - 1 ? "" : ";")
    print ""
    print "static const struct {"
    print "    unsigned key, value;"
    print "    int line;"
    printf "} packed_entries[%d] = {\n", nent ? nent : 1
    for (i = 0; i < nent; i++)
        printf "    {%d, %d, %d},\n", ek[i], ev[i], el[i]
    print "};"
    print ""
    print "static const struct {"
    print "    unsigned name;"
    print "    int line;"
    print "    unsigned first, n;"
    printf "} packed_sections[%d] = {\n", ns ? ns : 1
    for (s = 0; s < ns; s++)
        printf "    {%d, %d, %d, %d},\n", sn[s], sline[s], sfirst[s], ne[s]
    print "};"
    print ""
    printf "static struct ini_entry entries[%d];\n", nent ? nent : 1
    printf "static struct ini_section sections[%d];\n", ns ? ns : 1
    print "static struct ini builtin = {.origin = PROFILE_BUILTIN_ORIGIN, .s = sections, .n = " ns "};"
    print ""
    print "const struct ini *profile_builtin_ini(void)"
    print "{"
    print "    if (!sections[0].name) {"
    print "        for (size_t i = 0; i < sizeof packed_entries / sizeof *packed_entries; i++)"
    print "            entries[i] = (struct ini_entry){pool + packed_entries[i].key, pool + packed_entries[i].value,"
    print "                                            packed_entries[i].line};"
    print "        for (size_t i = 0; i < builtin.n; i++)"
    print "            sections[i] = (struct ini_section){pool + packed_sections[i].name, packed_sections[i].line,"
    print "                                               entries + packed_sections[i].first, packed_sections[i].n};"
    print "    }"
    print "    return &builtin;"
    print "}"
    names = ""
    for (s = 0; s < ns; s++)
        if (index(sname[s], "/") == 0)
            names = names (names == "" ? "" : ", ") sname[s]
    print ""
    print "const char profile_builtin_names[] = " cstr(names) ";"
}
