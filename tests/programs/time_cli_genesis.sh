#!/bin/sh
# time-cli's offline commands: a genesis made from a seed is valid, reproducible, and its keys
# re-derive; broken files and mistyped addresses are refused with exit codes 2 and 1.
#   usage: time_cli_genesis.sh PATH/TO/time-cli
set -u
cli=${1:?usage: time_cli_genesis.sh TIME_CLI}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0
check() { checks=$((checks + 1)); if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

out=$("$cli" genesis --seed 9 --validators 3 --tiers gold,silver,bronze --wallets 2 --out "$tmp/a"); check "genesis exits 0" $?
again=$("$cli" genesis --seed 9 --validators 3 --tiers gold,silver,bronze --wallets 2 --out "$tmp/b")
[ "$(echo "$out" | field hash)" = "$(echo "$again" | field hash)" ]; check "same seed, same genesis hash" $?
cmp -s "$tmp/a/genesis.json" "$tmp/b/genesis.json"; check "same seed, same genesis.json" $?
[ -f "$tmp/a/keys/validator-2.json" ] && [ -f "$tmp/a/keys/owner-0.json" ] && [ -f "$tmp/a/keys/wallet-1.json" ]; check "key files written" $?
chk=$("$cli" genesis-check "$tmp/a/genesis.json"); check "genesis-check accepts it" $?
[ "$(echo "$chk" | field hash)" = "$(echo "$out" | field hash)" ]; check "genesis-check prints the same hash" $?
addr=$(python3 -c "import json; print(json.load(open('$tmp/a/keys/wallet-0.json'))['address'])")
"$cli" address-check "$addr" >/dev/null; check "a wallet address checks" $?
typo=$(python3 -c "a='$addr'; i=len(a)-3; print(a[:i]+('2' if a[i]!='2' else '3')+a[i+1:])")
"$cli" address-check "$typo" >/dev/null; check "a mistyped address exits 1" $(( $? != 1 ))
sed 's/"bronze"/"platinum"/' "$tmp/a/genesis.json" > "$tmp/bad.json"
err=$("$cli" genesis-check "$tmp/bad.json" 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ]; check "a bad tier exits 2" $?
echo "$err" | grep -q "bad.json:.*masternodes\[2\].tier"; check "the error names file and path: $err" $?
printf '{"network": "testnet",\n  "time_ms": 1,\n  oops }' > "$tmp/syntax.json"
err=$("$cli" genesis-check "$tmp/syntax.json" 2>&1 >/dev/null)
echo "$err" | grep -q "syntax.json:3:"; check "a syntax error names file:line: $err" $?
"$cli" genesis --validators 0 --out "$tmp/c" >/dev/null 2>&1; check "--validators 0 exits 2" $(( $? != 2 ))
# Reports are valid JSON (strict UTF-8) whatever bytes an argument holds (core/jsonw.h).
"$cli" address-check "$(printf 'TIME0"\\\001\377')" > "$tmp/addr.json"; rc=$?
python3 -c "import json,sys; j=json.loads(open(sys.argv[1],'rb').read().decode('utf-8')); sys.exit(0 if j['address'] == 'TIME0\"\\\\\x01\ufffd' and j['ok'] is False else 1)" "$tmp/addr.json"
check "address-check of a quote, a backslash, a control byte and 0xff prints valid JSON (exit $rc)" $?
for seed in +9 " 9" -9 9x; do
    "$cli" genesis --seed "$seed" --out "$tmp/d" >/dev/null 2>&1; check "--seed '$seed' exits 2" $(( $? != 2 ))
done
echo "$(( checks - fails )) passed, $fails failed"
[ "$fails" -eq 0 ]
