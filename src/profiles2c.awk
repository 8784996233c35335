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
END {
    if (failed)
        exit 1
    print "/* Generated from src/profiles.builtin.conf by src/profiles2c.awk: do not edit. */"
    print "#include \"config.h\""
    print ""
    print "#include \"profile.h\""
    for (s = 0; s < ns; s++) {
        print ""
        printf "static const struct ini_entry section%d[] = {\n", s
        for (k = 0; k < ne[s]; k++)
            printf "    {%s, %s, %d},\n", cstr(key[s, k]), cstr(val[s, k]), kline[s, k]
        print "};"
    }
    print ""
    print "static const struct ini_section sections[] = {"
    for (s = 0; s < ns; s++)
        printf "    {%s, %d, section%d, %d},\n", cstr(sname[s]), sline[s], s, ne[s]
    print "};"
    print ""
    print "const struct ini profile_builtin = {.origin = PROFILE_BUILTIN_ORIGIN, .s = sections, .n = " ns "};"
    names = ""
    for (s = 0; s < ns; s++)
        if (index(sname[s], "/") == 0)
            names = names (names == "" ? "" : ", ") sname[s]
    print ""
    print "const char profile_builtin_names[] = " cstr(names) ";"
}
