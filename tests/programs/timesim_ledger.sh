#!/bin/sh
# timesim ledger end to end: the job passes, the same seed gives the same fingerprint run after
# run and on either store, another seed gives another, and bad options exit 2.
#   usage: timesim_ledger.sh PATH/TO/timesim
set -u
sim=${1:?usage: timesim_ledger.sh TIMESIM}
fails=0
checks=0
check() { # name, condition result (0 = ok)
    checks=$((checks + 1))
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().splitlines()[-1])['$1'])"; }

a=$("$sim" ledger --seed 7 --blocks 80 --quiet); check "run passes (exit 0)" $?
b=$("$sim" ledger --seed 7 --blocks 80 --quiet)
c=$("$sim" ledger --seed 7 --blocks 80 --quiet --storage lmdb)
d=$("$sim" ledger --seed 8 --blocks 80 --quiet)
fa=$(echo "$a" | field fingerprint); fb=$(echo "$b" | field fingerprint)
fc=$(echo "$c" | field fingerprint); fd=$(echo "$d" | field fingerprint)
[ "$(echo "$a" | field verdict)" = pass ]; check "verdict is pass" $?
[ "$fa" = "$fb" ]; check "same seed, same fingerprint ($fa)" $?
[ "$fa" = "$fc" ]; check "LMDB gives the memory store's fingerprint ($fc)" $?
[ "$fa" != "$fd" ]; check "another seed, another fingerprint ($fd)" $?
[ "$(echo "$a" | field evidence)" = 1 ]; check "evidence was included once" $?
[ "$(echo "$a" | field restarts)" = 1 ]; check "the node restarted from its store" $?
"$sim" ledger --blocks 0 --quiet >/dev/null 2>&1; check "--blocks 0 is bad input (exit 2)" $(( $? != 2 ))
"$sim" ledger --storage disk --quiet >/dev/null 2>&1; check "unknown storage is bad input (exit 2)" $(( $? != 2 ))
"$sim" frobnicate >/dev/null 2>&1; check "unknown subcommand exits 2" $(( $? != 2 ))
# Every command reads its numbers with one parser (tc_parse_u64): digits only.
scn=$(cd "$(dirname "$0")/../.." && pwd)/scenarios/steady-state.scn
for seed in +7 -7 " 7" "7 " 0x7 18446744073709551616; do
    "$sim" ledger --seed "$seed" --blocks 1 --quiet >/dev/null 2>&1
    check "ledger --seed '$seed' is bad input (exit 2)" $(( $? != 2 ))
    "$sim" run "$scn" --seed "$seed" --until 1s --quiet >/dev/null 2>&1
    check "run --seed '$seed' is bad input (exit 2)" $(( $? != 2 ))
    "$sim" shrink "$scn" --seed "$seed" >/dev/null 2>&1
    check "shrink --seed '$seed' is bad input (exit 2)" $(( $? != 2 ))
    "$sim" sweep "$scn" --seeds "$seed" --quiet >/dev/null 2>&1
    check "sweep --seeds '$seed' is bad input (exit 2)" $(( $? != 2 ))
done
"$sim" ledger --seed 18446744073709551615 --blocks 1 --quiet >/dev/null
check "ledger --seed 2^64-1 is accepted (exit 0)" $?
echo "$(( checks - fails )) passed, $fails failed"
[ "$fails" -eq 0 ]
