/* base.h — what every core module shares: error codes, assertions, fixed-size byte types.
 *
 * Error convention (STYLE.md rules 8-9): functions return 0 or a negative TC_E* code and pass
 * results through out-parameters. Codes are grouped by the layer that raises them so a caller
 * can tell "the peer sent garbage" (codec) from "the transaction breaks a ledger rule" (ledger)
 * from "the disk failed" (store). tc_strerror() names every code.
 *
 * Assertions are always on. TC_ASSERT is for proven invariants: a failure is a bug and aborts.
 * TC_NEVER(cond) marks a case believed impossible but not proven: it aborts in tests and in the
 * simulator (tc_never_abort = 1, the default) and returns true in a release driver that set
 * tc_never_abort = 0, so the caller can fail the operation cleanly.
 */
#ifndef TC_BASE_H
#define TC_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Codes. Keep tc_strerror() in base.c in step with this list. */
enum {
    TC_OK = 0,

    /* Generic (-1 .. -19). */
    TC_ENOMEM = -1,    /* allocation failed */
    TC_EINVAL = -2,    /* an argument is outside what the function accepts */
    TC_EFULL = -3,     /* a bounded container is full */
    TC_ENOTFOUND = -4, /* the key or object does not exist */
    TC_EEXIST = -5,    /* the key or object exists already */
    TC_EFAILED = -6,   /* the object is in its sticky failed state (STYLE rule 10) */
    TC_EOVERFLOW = -7, /* an amount or count would overflow */

    /* Codec (-20 .. -39): what a malformed byte string causes. */
    TC_ESHORT = -20,    /* input ended before the value did */
    TC_ETRAILING = -21, /* bytes left after the value ended */
    TC_ETOOLONG = -22,  /* a length or count exceeds the type's limit */
    TC_ERANGE = -23,    /* a field holds a value outside its allowed set */
    TC_EENCODE = -24,   /* output buffer too small, or value not encodable */

    /* Crypto and addresses (-40 .. -59). */
    TC_EBADSIG = -40,        /* a signature does not verify */
    TC_EBADKEY = -41,        /* a public key is not a valid point */
    TC_EADDR_PREFIX = -42,   /* address text does not start with TIME0/TIME1 */
    TC_EADDR_CHAR = -43,     /* address text holds a character outside base58 */
    TC_EADDR_CHECKSUM = -44, /* address checksum mismatch (a typo) */
    TC_EADDR_LENGTH = -45,   /* address decodes to the wrong number of bytes */
    TC_EADDR_NETWORK = -46,  /* address is for the other network */

    /* Transaction rules, PROTOCOL 3 (-60 .. -89). */
    TC_ETX_SIZE = -60,       /* encoded size over the limit */
    TC_ETX_NO_INPUTS = -61,  /* a transaction without inputs */
    TC_ETX_NO_OUTPUTS = -62, /* a transaction without outputs */
    TC_ETX_TOO_MANY_INPUTS = -63,
    TC_ETX_TOO_MANY_OUTPUTS = -64,
    TC_ETX_DUP_INPUT = -65,     /* one outpoint spent twice in one transaction */
    TC_ETX_MISSING_INPUT = -66, /* input refers to an output that does not exist */
    TC_ETX_SPENT_INPUT = -67,   /* input refers to an output already spent (confirmed) */
    TC_ETX_WRONG_OWNER = -68,   /* input key does not hash to the output's address */
    TC_ETX_BAD_SIG = -69,       /* an input signature does not verify */
    TC_ETX_OVERSPEND = -70,     /* sum(out) > sum(in) */
    TC_ETX_LOW_FEE = -71,       /* fee below min_fee */
    TC_ETX_DUST = -72,          /* an output below the dust limit */
    TC_ETX_VERSION = -73,       /* unknown transaction version */
    TC_ETX_KIND = -74,          /* kind-specific rule broken (registration, retirement) */
    TC_ETX_COLLATERAL = -75,    /* a transfer tries to spend masternode collateral */
    TC_ETX_LOCKED = -76,        /* an input is locked to another transaction */
    TC_ETX_ZERO_AMOUNT = -77,   /* an output of zero units */

    /* Mempool (-90 .. -99). */
    TC_EMP_DUPLICATE = -90,   /* the transaction is in the pool already */
    TC_EMP_CONFLICT = -91,    /* spends an outpoint a pooled transaction spends */
    TC_EMP_FULL = -92,        /* full of transactions that cannot be evicted (back-pressure) */
    TC_EMP_PEER_SHARE = -93,  /* the submitting peer holds its whole share of the pool */
    TC_EMP_LOW_FEERATE = -94, /* full, and the newcomer pays no more than what could be evicted */

    /* Masternodes and blocks (-100 .. -139). */
    TC_EMN_TIER = -100,      /* collateral does not match a tier */
    TC_EMN_DUPLICATE = -101, /* key registered already */
    TC_EMN_UNKNOWN = -102,   /* no such masternode */
    TC_EMN_NOT_OWNER = -103, /* retirement not signed by the collateral owner */
    TC_EBLK_HEIGHT = -110,   /* height is not parent + 1 */
    TC_EBLK_PARENT = -111,   /* parent hash is not the tip */
    TC_EBLK_TIME = -112,     /* block time not after the parent's */
    TC_EBLK_TXROOT = -113,   /* tx root does not match the body */
    TC_EBLK_UTXOROOT = -114, /* UTXO-set root after application does not match the header */
    TC_EBLK_VSET = -115,     /* validator-set hash is not the epoch's */
    TC_EBLK_PROPOSER = -116, /* proposer index out of range */
    TC_EBLK_COMMIT = -117,   /* last_commit is not a quorum of valid precommits for the parent */
    TC_EBLK_REWARD = -118,   /* reward outputs differ from the rule */
    TC_EBLK_EVIDENCE = -119, /* evidence does not prove an equivocation */
    TC_EBLK_CONFLICT = -120, /* two transactions in the block spend one outpoint */
    TC_EBLK_SUPPLY = -121,   /* supply accounting does not balance (a bug or corruption) */
    TC_EBLK_CERT = -122,     /* a finality certificate is malformed */
    TC_EBLK_HANDOFF = -123,  /* handoffs missing, invalid, short of Q, or off the closing block */
    TC_ESNAPSHOT = -124,     /* a state snapshot's manifest or chunk does not verify */
    TC_EGENESIS = -130,      /* the genesis document is invalid */

    /* Store (-140 .. -159). */
    TC_ESTORE_IO = -140,      /* the backend failed a read or write */
    TC_ESTORE_CORRUPT = -141, /* a record fails its checksum or cannot be decoded */
    TC_ESTORE_FAULT = -142,   /* an injected fault (simulator) */
    TC_ESTORE_TXN = -143,     /* transaction misuse: nested begin, write in a read txn */
    TC_ESTORE_MAPFULL = -144, /* the backend ran out of space */

    /* Peer policy (-160 .. -179): why a connection is closed or a frame dropped (peer.h). */
    TC_EPEER_MAGIC = -160,             /* HELLO carries another network's magic */
    TC_EPEER_VERSION = -161,           /* HELLO carries an unsupported protocol version */
    TC_EPEER_GENESIS = -162,           /* HELLO carries another genesis hash */
    TC_EPEER_SELF = -163,              /* connected to ourselves (our own key or nonce) */
    TC_EPEER_NONCE = -164,             /* a HELLO nonce seen before (replayed handshake) */
    TC_EPEER_PROTOCOL = -165,          /* a message out of order (before the handshake, ...) */
    TC_EPEER_HANDSHAKE_TIMEOUT = -166, /* handshake not complete within handshake_timeout_ms */
    TC_EPEER_IDLE = -167,              /* nothing received within idle_timeout_ms */
    TC_EPEER_BANNED = -168,            /* the peer's host is banned */
    TC_EPEER_LIMIT = -169,             /* inbound_max or outbound_max connections reached */
    TC_EPEER_MISBEHAVIOUR = -170,      /* misbehaviour points reached the threshold */
    TC_EPEER_RATE = -171,              /* dropped: over the category's rate budget */
    TC_EPEER_DUPLICATE = -172,         /* dropped: gossip already seen (not an offence) */
};

/* Returns a static, human-readable string for any code, "unknown error" otherwise. */
const char *tc_strerror(int code);

/* Assertions: always compiled in (STYLE rule 12). */
#define TC_ASSERT(cond) ((cond) ? (void)0 : tc_assert_fail(#cond, __FILE__, __LINE__))

extern int tc_never_abort;
#define TC_NEVER(cond) ((cond) ? tc_never_hit(#cond, __FILE__, __LINE__) : false)

_Noreturn void tc_assert_fail(const char *expr, const char *file, int line);
bool tc_never_hit(const char *expr, const char *file, int line);

#define TC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Decimal numbers as people type them on command lines and in files, one implementation for
 * every program (STYLE rule 25). The text must be decimal digits only: at least one, no sign,
 * no space before or after, no other character (leading zeros are allowed: "007" is 7). Returns
 * 0 and the number in *out when it lies in [min, max]; TC_EINVAL when the text is not such
 * digits (s NULL, empty, "+7", "-7", " 7", "7s", "0x10"); TC_ERANGE when the number lies outside
 * [min, max], one past 2^64 - 1 included. *out is unchanged on error. min <= max. */
int tc_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* The same for the len bytes at s, which need no terminator (a token inside a line). */
int tc_parse_u64n(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);
/* tc_parse_u64 into a u32. */
int tc_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* Allocation seam (SQLite's sqlite3FaultSim): every allocation of the core goes through these,
 * so a test can fail the Nth one and check that the caller copes (STYLE rules 18, 23). They
 * behave as malloc, calloc and realloc (free() releases what they return); a failed one returns
 * NULL and, for realloc, leaves p untouched. The fault state is per thread (tests and simulator
 * workers run one world per thread), off unless a test sets it, and costs one branch. */
void *tc_malloc(size_t size);
void *tc_calloc(size_t count, size_t size);
void *tc_realloc(void *p, size_t size);

typedef struct {
    /* Counting starts at 1 after tc_alloc_faults_set: fail_nth = 3 fails the third allocation
     * counted (and every one after it while fail_sticky is set); 0 fails none. */
    uint64_t fail_nth;
    bool fail_sticky;
    /* Allocations are counted (and failed) only while active: a test that drives several
     * objects from one thread switches the count on around the calls of the one under test. */
    bool active;
} tc_alloc_faults;

/* Replaces this thread's fault settings and restarts the count; NULL switches faults off. */
void tc_alloc_faults_set(const tc_alloc_faults *f);
/* Switches counting on or off without restarting it (see active); returns the old setting. */
bool tc_alloc_faults_active(bool active);
/* Allocations counted on this thread since the last tc_alloc_faults_set; failed ones included. */
uint64_t tc_alloc_count(void);
/* Allocations failed on purpose on this thread since the last tc_alloc_faults_set. */
uint64_t tc_alloc_failed_count(void);

/* Fixed-size byte values. Wrapping them in structs gives type checking and plain assignment. */
#define TC_HASH_SIZE      32
#define TC_PUBKEY_SIZE    32
#define TC_SEED_SIZE      32
#define TC_SIG_SIZE       64
#define TC_ADDR_HASH_SIZE 20

typedef struct {
    uint8_t b[TC_HASH_SIZE];
} tc_hash;
typedef struct {
    uint8_t b[TC_PUBKEY_SIZE];
} tc_pubkey;
typedef struct {
    uint8_t b[TC_SIG_SIZE];
} tc_sig;
typedef struct {
    uint8_t b[TC_ADDR_HASH_SIZE];
} tc_addr_hash;

/* Units: 1 TIME = 100,000,000 units (PROTOCOL 1). */
#define TC_UNITS_PER_TIME UINT64_C(100000000)

/* Overflow-checked u64 addition: returns TC_EOVERFLOW and leaves *acc unchanged on overflow. */
static inline int tc_add_u64(uint64_t *acc, uint64_t v)
{
    if (*acc > UINT64_MAX - v)
        return TC_EOVERFLOW;
    *acc += v;
    return 0;
}

/* Lowercase hex of n bytes into out (2n+1 bytes with the terminator). */
void tc_hex(char *out, const uint8_t *bytes, size_t n);

#endif
