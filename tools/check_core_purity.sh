#!/bin/sh
# The core is a pure state machine (DESIGN.md, STYLE.md rules 1 and 3): no sockets, threads,
# event loops, clocks, ambient randomness, environment or printing in core/. LMDB may appear only
# in the LMDB store backend; streams only where an assertion failure is reported (base.c).
# Prints every offending line as file:line and exits 1 if there is any.
set -u
cd "$(dirname "$0")/../core" || exit 2
bad=0
report() { echo "core purity: $1"; bad=1; }

hits=$(grep -nE '#include *<(sys/socket\.h|sys/time\.h|netinet/|arpa/|uv\.h|pthread\.h|unistd\.h|threads\.h|time\.h|curl/)' -- *.c *.h include/*.h)
[ -n "$hits" ] && report "I/O, thread or clock header:
$hits"
hits=$(grep -nE '\b(time|clock_gettime|gettimeofday|rand|srand|random|getenv|getpid|printf|puts|fopen|open|socket)\(' -- *.c *.h include/*.h | grep -vE '^[^:]+:[0-9]+: *(/\*|\*)')
[ -n "$hits" ] && report "clock, randomness, environment, file or print call:
$hits"
hits=$(grep -lE '#include *<lmdb\.h>' -- *.c *.h include/*.h | grep -v '^store_lmdb\.c$')
[ -n "$hits" ] && report "LMDB outside store_lmdb.c: $hits"
# stdio may be included for snprintf (formatting into memory); streams only in base.c, which
# reports assertion failures on stderr.
hits=$(grep -nE '\b(fprintf|printf|puts|fputs|fwrite|fread|fopen)\(|\b(stdout|stderr|stdin)\b' -- *.c *.h include/*.h | grep -v '^base\.c:' | grep -vE '^[^:]+:[0-9]+: *(/\*|\*)')
[ -n "$hits" ] && report "stream I/O outside base.c:
$hits"
hits=$(grep -nE '\b(float|double) +\**[A-Za-z_]' -- *.c *.h include/*.h | grep -vE '^[^:]+:[0-9]+: *(/\*|\*)')
[ -n "$hits" ] && report "floating point in the core (determinism rule 3):
$hits"
[ "$bad" -eq 0 ] && echo "core purity: ok ($(ls -- *.c *.h include/*.h | wc -l) files)"
exit "$bad"
