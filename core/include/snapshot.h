/* snapshot.h — state snapshots (PROTOCOL 13.2): the chain state a node needs to apply the block
 * after a certified height, cut into chunks a node far behind fetches from several peers,
 * verifies one by one, and applies in one store transaction.
 *
 * A snapshot at height H is a record stream plus a manifest. The stream holds, in strictly
 * increasing (table id, key) order, every record of these tables as they stand after block H:
 *   TC_TABLE_META      "chain/carry/" keys and "chain/supply" (as stored)
 *   TC_TABLE_UTXO      outpoint key 36 -> chain data 37: u64 amount | addr 20 | u64 height |
 *                      u8 flags (the lock state and txid are this node's view, never sent: an
 *                      applied entry is Unspent)
 *   TC_TABLE_TXIDX     txid -> u64 height (as stored)
 *   TC_TABLE_MN        masternode key -> registry record (as stored)
 *   TC_TABLE_EVIDENCE  evidence hash -> u64 height (as stored)
 * A record is `u8 table | bytes key | bytes value`; a chunk is `u32 count | count x record`.
 * Chunk i holds records [i * per_chunk, (i + 1) * per_chunk) of the stream, per_chunk a
 * function of the record count only, so every honest node cuts the same chunks.
 *
 * The manifest binds the chunks to the certified block:
 *   u64 height | block (the block at H) | commit (its certificate) | u32 per_chunk |
 *   list of chunk info: hash 32 (H(tc/snapchunk, chunk bytes)) | u32 record_count |
 *   u32 utxo_count | u64 utxo_total | accumulator 2048 (the LtHash16 sum of the chunk's UTXO
 *   elements, utxo.h "Root")
 * tc_snapshot_manifest_check proves it against the header: the certificate against the set of
 * epoch(H), and H(tc/utxoroot, sum of the accumulators | sum of the counts) = the header's
 * utxo_root. tc_snapshot_chunk_check proves a chunk against its info on arrival: its hash, and
 * its UTXO records' element sum, count and total. A chunk that passes both holds exactly the
 * UTXO entries the certified root commits to for its slot, so a lying chunk is caught at once,
 * not when the last one arrives. The other tables are bound by the chunk hashes only (the
 * header commits to no root over them; PROTOCOL 18.1).
 *
 * Errors: TC_ESNAPSHOT for anything a peer's bytes can get wrong, TC_ENOMEM, store codes.
 */
#ifndef TC_SNAPSHOT_H
#define TC_SNAPSHOT_H

#include "base.h"
#include "block.h"
#include "crypto.h"
#include "mnreg.h"
#include "store.h"

#define TC_SNAPSHOT_CHUNKS_MAX        256        /* chunks of one snapshot */
#define TC_SNAPSHOT_CHUNK_RECORDS_MIN 512        /* records per chunk below the cap */
#define TC_SNAPSHOT_CHUNK_RECORDS_MAX 16384      /* records in one chunk */
#define TC_SNAPSHOT_CHUNK_BYTES_MAX   (2u << 20) /* bytes of one chunk */
#define TC_SNAPSHOT_KEY_MAX           64         /* bytes of a record's key */
#define TC_SNAPSHOT_VALUE_MAX         (1u << 20) /* bytes of a record's value */
#define TC_SNAPSHOT_UTXO_VALUE_SIZE   37         /* amount | addr | height | flags */
#define TC_SNAPSHOT_INFO_SIZE         (TC_HASH_SIZE + 4 + 4 + 8 + TC_LTHASH_LANES * 2)
#define TC_SNAPSHOT_MANIFEST          UINT32_MAX        /* chunk index that names the manifest */
#define TC_SNAPSHOT_TIP_COMMIT_KEY    "node/tip-commit" /* LOCKS: the tip's certificate */

_Static_assert(TC_SNAPSHOT_CHUNKS_MAX *(uint64_t)TC_SNAPSHOT_INFO_SIZE < (1u << 20),
               "a manifest's chunk list stays under 1 MiB, beside a block of at most 3 MiB");
_Static_assert(TC_SNAPSHOT_CHUNK_BYTES_MAX < (3u << 20), "a chunk fits a frame");

typedef struct {
    tc_hash hash;
    uint32_t record_count;
    uint32_t utxo_count;
    uint64_t utxo_total;
    tc_lthash acc;
} tc_snapshot_chunk_info;

typedef struct {
    uint64_t height;
    tc_block block;   /* owned */
    tc_commit commit; /* owned */
    uint32_t per_chunk;
    uint32_t chunk_count;
    tc_snapshot_chunk_info *chunks; /* heap, chunk_count */
} tc_snapshot_manifest;

/* A captured snapshot: the manifest and the encoded chunks (what a node serves). Capturing
 * copies records only; the chunk infos (an LtHash element per UTXO entry) and the manifest are
 * computed by tc_snapshot_seal, on the first request, since most snapshots a node captures are
 * never asked for. */
typedef struct {
    bool sealed;
    tc_snapshot_manifest manifest; /* chunk infos zero until sealed */
    uint8_t **chunk_bytes;         /* heap, manifest.chunk_count, each heap */
    size_t *chunk_lens;
    uint8_t *manifest_bytes; /* the encoded manifest, heap; NULL until sealed */
    size_t manifest_len;
    tc_hash manifest_id; /* tc_snapshot_manifest_id */
} tc_snapshot;

/* Reads the store's state (its tip must be tip's block; commit certifies it) into a new,
 * unsealed snapshot: its records cut into chunks. Codes: TC_ENOMEM, TC_ESTORE_CORRUPT,
 * TC_ETOOLONG (the state exceeds the chunk limits), store codes. */
int tc_snapshot_capture(tc_store *store, const tc_block *tip, const tc_commit *commit,
                        tc_snapshot **out);
/* Computes the chunk infos, the manifest's bytes and the id (a no-op once sealed). elements
 * may be NULL. 0 or TC_ENOMEM (then still unsealed). */
int tc_snapshot_seal(tc_snapshot *s, tc_lthash_cache *elements);
void tc_snapshot_free(tc_snapshot *s);

/* The manifest's encoding; 0 or TC_ENOMEM. *out is heap. */
int tc_snapshot_manifest_encode(const tc_snapshot_manifest *m, uint8_t **out, size_t *len_out);
/* TC_ESNAPSHOT for malformed bytes or limits broken, TC_ENOMEM. *m is zeroed on failure. */
int tc_snapshot_manifest_decode(tc_snapshot_manifest *m, const uint8_t *bytes, size_t n);
void tc_snapshot_manifest_deinit(tc_snapshot_manifest *m);
/* The snapshot's id: H(tc/snapmanifest, u64 height | block hash | u32 per_chunk | the chunk
 * infos as encoded). It leaves the certificate out: honest nodes hold different quorums of
 * precommits for one block, so their manifests differ in bytes, yet they cut the same chunks and
 * agree on this id, which chunk requests name. */
void tc_snapshot_manifest_id(const tc_snapshot_manifest *m, tc_hash *out);

/* Proves m against the validator set vs of epoch(m->height): the block is the one the commit
 * certifies (TC_ESNAPSHOT), the commit verifies (TC_EBLK_COMMIT), and the chunks' accumulators
 * and counts add up to the header's UTXO-set root (TC_ESNAPSHOT). */
int tc_snapshot_manifest_check(const tc_snapshot_manifest *m, const tc_vset *vs,
                               const tc_verifier *verifier);

/* Proves chunk `index` of m (bytes, n): its hash, its records' shape and order, and its UTXO
 * records' element sum, count and total against the chunk's info. 0 or TC_ESNAPSHOT. */
int tc_snapshot_chunk_check(const tc_snapshot_manifest *m, uint32_t index, const uint8_t *bytes,
                            size_t n, tc_lthash_cache *elements);

/* Replaces the store's chain state by the snapshot's in one read-write transaction: the UTXO,
 * SPENT, BLOCKS, BLOCKIDX, TXIDX, MN and EVIDENCE tables and the chain's META records are
 * emptied and written from the chunks (each already passed tc_snapshot_chunk_check), the block
 * at H is stored with the tip, the tip's certificate is written to LOCKS, the UTXO META from
 * the manifest's sums. Checks what spans chunks: the record order across them, and the supply
 * record (genesis supply as the store's, rewards = H x block_reward, the equation); both
 * TC_ESNAPSHOT. On any failure nothing changes. Store codes, TC_ENOMEM. */
int tc_snapshot_apply(tc_store *store, const tc_snapshot_manifest *m, uint8_t *const *chunks,
                      const size_t *lens, uint64_t block_reward);

#endif
