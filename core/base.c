/* base.c — error names, assertion plumbing, hex digits and the decimal parser (base.h). */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tc_never_abort = 1;

/* ---- allocation seam ---- */

static _Thread_local tc_alloc_faults alloc_faults;
static _Thread_local uint64_t alloc_seq;
static _Thread_local uint64_t alloc_failed;

/* Counts one allocation while faults are active; true when it must fail. */
static bool alloc_fails(void)
{
    if (!alloc_faults.active)
        return false;
    alloc_seq++;
    uint64_t nth = alloc_faults.fail_nth;
    bool fail = nth != 0 && (alloc_seq == nth || (alloc_faults.fail_sticky && alloc_seq > nth));
    alloc_failed += fail;
    return fail;
}

void *tc_malloc(size_t size)
{
    return alloc_fails() ? NULL : malloc(size);
}

void *tc_calloc(size_t count, size_t size)
{
    return alloc_fails() ? NULL : calloc(count, size);
}

void *tc_realloc(void *p, size_t size)
{
    return alloc_fails() ? NULL : realloc(p, size);
}

void tc_alloc_faults_set(const tc_alloc_faults *f)
{
    alloc_faults = f != NULL ? *f : (tc_alloc_faults){0};
    alloc_seq = 0;
    alloc_failed = 0;
}

bool tc_alloc_faults_active(bool active)
{
    bool was = alloc_faults.active;
    alloc_faults.active = active;
    return was;
}

uint64_t tc_alloc_count(void)
{
    return alloc_seq;
}

uint64_t tc_alloc_failed_count(void)
{
    return alloc_failed;
}

const char *tc_strerror(int code)
{
    switch (code) {
    case TC_OK:
        return "ok";
    case TC_ENOMEM:
        return "allocation failed";
    case TC_EINVAL:
        return "an argument is outside what the function accepts";
    case TC_EFULL:
        return "a bounded container is full";
    case TC_ENOTFOUND:
        return "the key or object does not exist";
    case TC_EEXIST:
        return "the key or object exists already";
    case TC_EFAILED:
        return "the object is in its sticky failed state (STYLE rule 10)";
    case TC_EOVERFLOW:
        return "an amount or count would overflow";
    case TC_ESHORT:
        return "input ended before the value did";
    case TC_ETRAILING:
        return "bytes left after the value ended";
    case TC_ETOOLONG:
        return "a length or count exceeds the type's limit";
    case TC_ERANGE:
        return "a field holds a value outside its allowed set";
    case TC_EENCODE:
        return "output buffer too small, or value not encodable";
    case TC_EBADSIG:
        return "a signature does not verify";
    case TC_EBADKEY:
        return "a public key is not a valid point";
    case TC_EADDR_PREFIX:
        return "address text does not start with TIME0/TIME1";
    case TC_EADDR_CHAR:
        return "address text holds a character outside base58";
    case TC_EADDR_CHECKSUM:
        return "address checksum mismatch (a typo)";
    case TC_EADDR_LENGTH:
        return "address decodes to the wrong number of bytes";
    case TC_EADDR_NETWORK:
        return "address is for the other network";
    case TC_ETX_SIZE:
        return "encoded size over the limit";
    case TC_ETX_NO_INPUTS:
        return "a transaction without inputs";
    case TC_ETX_NO_OUTPUTS:
        return "a transaction without outputs";
    case TC_ETX_TOO_MANY_INPUTS:
        return "tx too many inputs";
    case TC_ETX_TOO_MANY_OUTPUTS:
        return "tx too many outputs";
    case TC_ETX_DUP_INPUT:
        return "one outpoint spent twice in one transaction";
    case TC_ETX_MISSING_INPUT:
        return "input refers to an output that does not exist";
    case TC_ETX_SPENT_INPUT:
        return "input refers to an output already spent (confirmed)";
    case TC_ETX_WRONG_OWNER:
        return "input key does not hash to the output's address";
    case TC_ETX_BAD_SIG:
        return "an input signature does not verify";
    case TC_ETX_OVERSPEND:
        return "sum(out) > sum(in)";
    case TC_ETX_LOW_FEE:
        return "fee below min_fee";
    case TC_ETX_DUST:
        return "an output below the dust limit";
    case TC_ETX_VERSION:
        return "unknown transaction version";
    case TC_ETX_KIND:
        return "kind-specific rule broken (registration, retirement)";
    case TC_ETX_COLLATERAL:
        return "a transfer tries to spend masternode collateral";
    case TC_ETX_LOCKED:
        return "an input is locked to another transaction";
    case TC_ETX_ZERO_AMOUNT:
        return "an output of zero units";
    case TC_EMP_DUPLICATE:
        return "the transaction is in the pool already";
    case TC_EMP_CONFLICT:
        return "spends an outpoint a pooled transaction spends";
    case TC_EMP_FULL:
        return "full of transactions that cannot be evicted (back-pressure)";
    case TC_EMP_PEER_SHARE:
        return "the submitting peer holds its whole share of the pool";
    case TC_EMP_LOW_FEERATE:
        return "full, and the newcomer pays no more than what could be evicted";
    case TC_EMN_TIER:
        return "collateral does not match a tier";
    case TC_EMN_DUPLICATE:
        return "key registered already";
    case TC_EMN_UNKNOWN:
        return "no such masternode";
    case TC_EMN_NOT_OWNER:
        return "retirement not signed by the collateral owner";
    case TC_EBLK_HEIGHT:
        return "height is not parent + 1";
    case TC_EBLK_PARENT:
        return "parent hash is not the tip";
    case TC_EBLK_TIME:
        return "block time not after the parent's";
    case TC_EBLK_TXROOT:
        return "tx root does not match the body";
    case TC_EBLK_UTXOROOT:
        return "UTXO-set root after application does not match the header";
    case TC_EBLK_VSET:
        return "validator-set hash is not the epoch's";
    case TC_EBLK_PROPOSER:
        return "proposer index out of range";
    case TC_EBLK_COMMIT:
        return "last_commit is not a quorum of valid precommits for the parent";
    case TC_EBLK_REWARD:
        return "reward outputs differ from the rule";
    case TC_EBLK_EVIDENCE:
        return "evidence does not prove an equivocation";
    case TC_EBLK_CONFLICT:
        return "two transactions in the block spend one outpoint";
    case TC_EBLK_SUPPLY:
        return "supply accounting does not balance (a bug or corruption)";
    case TC_EBLK_CERT:
        return "a finality certificate is malformed";
    case TC_EBLK_HANDOFF:
        return "handoffs missing, invalid, short of Q, or off the closing block";
    case TC_ESNAPSHOT:
        return "a state snapshot's manifest or chunk does not verify";
    case TC_EGENESIS:
        return "the genesis document is invalid";
    case TC_ESTORE_IO:
        return "the backend failed a read or write";
    case TC_ESTORE_CORRUPT:
        return "a record fails its checksum or cannot be decoded";
    case TC_ESTORE_FAULT:
        return "an injected fault (simulator)";
    case TC_ESTORE_TXN:
        return "transaction misuse: nested begin, write in a read txn";
    case TC_ESTORE_MAPFULL:
        return "the backend ran out of space";
    case TC_EPEER_MAGIC:
        return "HELLO carries another network's magic";
    case TC_EPEER_VERSION:
        return "HELLO carries an unsupported protocol version";
    case TC_EPEER_GENESIS:
        return "HELLO carries another genesis hash";
    case TC_EPEER_SELF:
        return "connected to ourselves (our own key or nonce)";
    case TC_EPEER_NONCE:
        return "a HELLO nonce seen before (replayed handshake)";
    case TC_EPEER_PROTOCOL:
        return "a message out of order (before the handshake, a second HELLO, ...)";
    case TC_EPEER_HANDSHAKE_TIMEOUT:
        return "handshake not complete within handshake_timeout_ms";
    case TC_EPEER_IDLE:
        return "nothing received within idle_timeout_ms";
    case TC_EPEER_BANNED:
        return "the peer's host is banned";
    case TC_EPEER_LIMIT:
        return "inbound_max or outbound_max connections reached";
    case TC_EPEER_MISBEHAVIOUR:
        return "misbehaviour points reached the threshold";
    case TC_EPEER_RATE:
        return "dropped: over the category's rate budget";
    case TC_EPEER_DUPLICATE:
        return "dropped: gossip already seen";
    default:
        return "unknown error";
    }
}

_Noreturn void tc_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}

bool tc_never_hit(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: believed impossible: %s\n", file, line, expr);
    if (tc_never_abort)
        abort();
    return true;
}

void tc_hex(char *out, const uint8_t *bytes, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = 0;
}

int tc_parse_u64n(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
    TC_ASSERT(min <= max && out != NULL);
    if (s == NULL || len == 0)
        return TC_EINVAL;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return TC_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return TC_ERANGE; /* past 2^64 - 1: outside every range */
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return TC_ERANGE;
    *out = v;
    return 0;
}

int tc_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    return tc_parse_u64n(s, s != NULL ? strlen(s) : 0, min, max, out);
}

int tc_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    TC_ASSERT(out != NULL);
    uint64_t v = 0;
    int rc = tc_parse_u64(s, min, max, &v);
    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}
