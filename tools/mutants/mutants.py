"""The project's planted bugs (docs/RULES.md): one per rule family.

Each mutant is a small edit of one core source file: every `old` text must occur exactly once in
the file (run.py refuses a mutant whose text drifted), and is replaced by `new`. A mutant models
a slip a reviewer could miss: a check dropped, a bound off, a signature not verified. Each names
the rule it breaks, as docs/PROTOCOL.md states it. `scenarios` lists the catalog scenarios written
to break that rule on purpose (scenarios/adv-*.scn): run.py --targeted checks that each of them
fails, on its own, under the mutant.
"""

MUTANTS = [
    # ---- proposals (PROTOCOL 12.6) ----
    dict(name="proposal-proposer-from-header", scenarios=['adv-out-of-turn'], file="core/node_consensus.c",
         rule="12.6: a proposal is checked against proposer(height, round), not the proposer "
              "its header claims",
         edits=[("    uint32_t proposer = tc_bft_proposer_at(n->bft, p->height, p->round);\n",
                 "    uint32_t proposer = tc_bft_proposer_at(n->bft, p->height, p->round);\n"
                 "    if (proposer != TC_BFT_INDEX_NONE && p->block.header.proposer < 1024)\n"
                 "        proposer = p->block.header.proposer;\n")]),
    dict(name="proposal-sig-unchecked", scenarios=['adv-forge-proposal'], file="core/node_consensus.c",
         rule="12.6: the proposal's signature verifies under the key of proposer(height, round)",
         edits=[("    return tc_verify(&n->verifier, &vs->members[proposer].key, &m, &p->sig) == 0 "
                 "? 0 : TC_EBADSIG;",
                 "    (void)m;\n    return 0;")]),
    dict(name="proposal-header-round", scenarios=['adv-wrong-round'], file="core/node_consensus.c",
         rule="12.6: a fresh proposal's header round equals the message's round",
         edits=[("if (h->round != p->round || h->proposer != proposer)",
                 "if (h->proposer != proposer)")]),
    dict(name="proposal-header-proposer", scenarios=['adv-wrong-proposer'], file="core/node_consensus.c",
         rule="12.6: a fresh proposal's header names proposer(height, round)",
         edits=[("if (h->round != p->round || h->proposer != proposer)",
                 "if (h->round != p->round)")]),
    dict(name="proposal-time-future", scenarios=['adv-time-ahead'], file="core/node_consensus.c",
         rule="12.6 step 4 / 15: a block more than block_time_future_max_ms ahead of the "
              "validator's clock is invalid",
         edits=[("n->clock_ms + prof->block_time_future_max_ms)",
                 "n->clock_ms + prof->block_time_future_max_ms * 1000000)")]),
    # ---- votes (12.9, 14.2) ----
    dict(name="precommit-sig-unchecked", scenarios=['adv-forge-precommit'], file="core/node_consensus.c",
         rule="12.9: a PRECOMMIT's signature is verified (else BAD_SIG)",
         edits=[("    if (tc_vote_verify(v, &n->verifier, &vs->members[v->validator].key) != 0) {",
                 "    if (v->type == TC_VOTE_PREVOTE &&\n"
                 "        tc_vote_verify(v, &n->verifier, &vs->members[v->validator].key) != 0) {")]),
    dict(name="prevote-sig-unchecked", scenarios=['adv-forge-prevote'], file="core/node_consensus.c",
         rule="12.9: a PREVOTE's signature is verified (else BAD_SIG)",
         edits=[("    if (tc_vote_verify(v, &n->verifier, &vs->members[v->validator].key) != 0) {",
                 "    if (v->type == TC_VOTE_PRECOMMIT &&\n"
                 "        tc_vote_verify(v, &n->verifier, &vs->members[v->validator].key) != 0) {")]),
    dict(name="past-precommit-evidence", scenarios=['adv-stale-height'], file="core/node_commit.c",
         rule="14.2: a precommit below the tip contradicting our certificate is evidence",
         edits=[("    if (v->type != TC_VOTE_PRECOMMIT || tc_vote_is_nil(v) ||",
                 "    if (true || v->type != TC_VOTE_PRECOMMIT || tc_vote_is_nil(v) ||")]),
    # ---- certificates (12.8) and sync (13) ----
    dict(name="sync-cert-unverified", scenarios=['adv-sync-bad-hash', 'adv-sync-low-weight', 'adv-sync-non-member', 'adv-sync-bad-sig'], file="core/node_sync.c",
         rule="13: each BLOCKS entry's certificate is verified against its epoch's set",
         edits=[("    return tc_commit_verify(&e->commit, vs, &n->verifier, h, hash_out);",
                 "    (void)vs;\n    return 0;")]),
    dict(name="commit-weight", scenarios=['adv-sync-low-weight'], file="core/mnreg.c",
         rule="12.8: a certificate's signers weigh at least Q",
         edits=[("if (!signers_ok(c, v, &w) || w < tc_vset_quorum(v))",
                 "if (!signers_ok(c, v, &w) || w == 0)")]),
    dict(name="commit-sigs", scenarios=['adv-sync-bad-sig'], file="core/mnreg.c",
         rule="12.8: every signature of a certificate is a valid PRECOMMIT of its member",
         edits=[("        if (tc_vote_verify(&vote, verifier, &v->members[vote.validator].key) != 0)\n"
                 "            return TC_EBLK_COMMIT;\n",
                 "        (void)verifier;\n")]),
    dict(name="commit-block-match", scenarios=['adv-sync-bad-hash'], file="core/mnreg.c",
         rule="12.8: a certificate certifies the block it comes with (height and hash)",
         edits=[("if (c->height != height || memcmp(c->block.b, block->b, TC_HASH_SIZE) != 0)",
                 "if (c->height != height)")]),
    dict(name="commit-signer-order", file="core/mnreg.c",
         rule="12.8: certificate signers are strictly increasing (no signer counted twice)",
         edits=[("if (idx >= v->count || (i > 0 && idx <= c->sigs[i - 1].validator))",
                 "if (idx >= v->count)")]),
    dict(name="quorum-two-thirds", file="core/mnreg.c",
         rule="12.1 / 11.4: Q = floor(2W/3) + 1",
         edits=[("    return two_thirds + 1;", "    return two_thirds;")]),
    # ---- chain rules (8) ----
    dict(name="chain-height", file="core/chain.c",
         rule="8: height = tip + 1",
         edits=[("    if (h->height != c->height + 1)\n        return TC_EBLK_HEIGHT;\n", "")]),
    dict(name="chain-parent", file="core/chain.c",
         rule="8: parent = tip",
         edits=[("    if (memcmp(h->parent.b, c->tip.b, TC_HASH_SIZE) != 0)\n"
                 "        return TC_EBLK_PARENT;\n", "")]),
    dict(name="chain-time-after-parent", scenarios=['adv-time-behind'], file="core/chain.c",
         rule="8: time_ms after the parent's",
         edits=[("    if (h->time_ms <= c->tip_time_ms)\n        return TC_EBLK_TIME;\n", "")]),
    dict(name="chain-vset-hash", file="core/chain.c",
         rule="8: vset_hash of epoch(height)",
         edits=[("    if (memcmp(vh.b, h->vset_hash.b, TC_HASH_SIZE) != 0)\n"
                 "        return TC_EBLK_VSET;\n", "    (void)vh;\n")]),
    dict(name="chain-last-commit", file="core/chain.c",
         rule="8: last_commit certifies the parent with Q weight of the parent's epoch",
         edits=[("    return tc_commit_verify(&h->last_commit, x->parent_vset, &c->verifier, "
                 "h->height - 1, &c->tip);", "    return 0;")]),
    dict(name="chain-tx-root", file="core/chain.c",
         rule="8: tx_root = H(body)",
         edits=[("    if (memcmp(root.b, b->header.tx_root.b, TC_HASH_SIZE) != 0)\n"
                 "        return TC_EBLK_TXROOT;\n", "")]),
    dict(name="chain-utxo-root", file="core/chain.c",
         rule="8: utxo_root equals the root after application",
         edits=[("    else if (memcmp(root.b, b->header.utxo_root.b, TC_HASH_SIZE) != 0)\n",
                 "    else if (false)\n")]),
    dict(name="chain-reward", file="core/chain.c",
         rule="8: reward outputs exactly as the split over last_commit's signers",
         edits=[("        rc = TC_EBLK_REWARD;", "        rc = 0;")]),
    dict(name="chain-supply", file="core/chain.c",
         rule="8: the supply equation holds after every block",
         edits=[("        total != want - s->burned_total) {", "        (total & 0) != 0) {")]),
    # ---- transactions (3) ----
    dict(name="tx-sig", scenarios=['adv-forge-tx'], file="core/ledger.c",
         rule="3: every input's signature verifies",
         edits=[("        if (tc_verify(v, &in->pub, &msg, &in->sig) != 0)\n"
                 "            return TC_ETX_BAD_SIG;\n", "        (void)v;\n")]),
    dict(name="tx-owner", file="core/ledger.c",
         rule="3: an input's key hashes to the spent output's address",
         edits=[("        if (memcmp(owner.b, e->addr.b, TC_ADDR_HASH_SIZE) != 0)\n"
                 "            return TC_ETX_WRONG_OWNER;\n", "        (void)owner;\n")]),
    dict(name="tx-overspend", file="core/ledger.c",
         rule="3: outputs do not exceed inputs",
         edits=[("    if (out_total > in_total)\n        return TC_ETX_OVERSPEND;\n", "")]),
    dict(name="tx-min-fee", file="core/ledger.c",
         rule="3: the fee is at least the minimum fee",
         edits=[("    return *fee < min_fee ? TC_ETX_LOW_FEE : 0;", "    (void)min_fee;\n    return 0;")]),
    dict(name="tx-collateral", file="core/ledger.c",
         rule="3 / 6: a registered masternode's collateral is not spendable",
         edits=[("    if ((e->flags & TC_UTXO_COLLATERAL) != 0)\n        return TC_ETX_COLLATERAL;\n",
                 "")]),
    # ---- instant finality (11) ----
    dict(name="finality-vote-lock", file="core/ledger.c",
         rule="11.1: a validator never votes for a transaction whose input it locked to another",
         edits=[("        if (e->state != TC_UTXO_UNSPENT && !ours)\n            return TC_ETX_LOCKED;\n",
                 "        (void)ours;\n")]),
    dict(name="finality-batch-sig", scenarios=['adv-forge-batch'], file="core/finality.c",
         rule="11.3: a vote batch's signature verifies under its validator's key",
         edits=[("    rc = tc_verify(f->verifier, &f->vset.members[b->validator].key, &h, &b->sig);\n",
                 "    rc = 0;\n")]),
    dict(name="finality-quorum", file="core/finality.c",
         rule="11.4: a transaction is final with votes of weight >= Q",
         edits=[("(e->flags & F_FINALIZED) || e->weight < f->quorum)",
                 "(e->flags & F_FINALIZED) || e->weight < 1)")]),
    dict(name="finality-old-cert", scenarios=['final-old-certificate'], file="core/finality.c",
         rule="11.8 step 6: a carried transaction final in the previous epoch is confirmed by "
              "its certificate of that epoch (built from the kept one, checked against the "
              "previous set)",
         edits=[("        return at == NONE || !carried(f, txid) ? TC_ENOTFOUND : "
                 "fincert_copy(out, &f->pc[at]);",
                 "        return at == NONE || true ? TC_ENOTFOUND : fincert_copy(out, &f->pc[at]);"),
                ("    bool old = f->has_prev && c->epoch == f->prev.epoch && c->epoch != f->vset.epoch;",
                 "    bool old = false && f->has_prev && c->epoch == f->prev.epoch &&\n"
                 "               c->epoch != f->vset.epoch;")]),
    dict(name="finality-carried-loser", file="core/finality.c",
         rule="SPEC 2 / 11.8: a carried loser's other inputs return to Unspent when a block "
              "confirms its rival (no vote record is left to release them later)",
         edits=[("            if (e->own_seq == 0) {",
                 "            if (e->own_seq == 0 && false) {")]),
    dict(name="carried-bodies-fetch", scenarios=['carried-bodies'], file="core/node_txs.c",
         rule="11.8 step 8: a node fetches the bodies of carried transactions it never saw and "
              "votes for nothing until their outpoints are reserved",
         edits=[("    if (missing == 0 || b->tries >= NODE_BODIES_TRIES) {",
                 "    if (true || missing == 0 || b->tries >= NODE_BODIES_TRIES) {")]),
    dict(name="handoff-sig", scenarios=['adv-forge-handoff'], file="core/node_txs.c",
         rule="11.8: a handoff's signature verifies under its validator's key",
         edits=[("    if (tc_verify(&n->verifier, &vs->members[h->validator].key, &sh, &h->sig) != 0) {",
                 "    if (false) {")]),
    # ---- clock, evidence, bft, peers ----
    dict(name="heartbeat-sig", scenarios=['adv-forge-heartbeat'], file="core/node_clock.c",
         rule="15: a heartbeat's signature verifies (else BAD_SIG, and its offset is not taken)",
         edits=[("    if (tc_verify(&n->verifier, &h->pubkey, &m, &h->sig) != 0) {", "    if (false) {")]),
    dict(name="heartbeat-present", scenarios=['heartbeat-replay'], file="core/node_clock.c",
         rule="15: a heartbeat names a block of our chain near the tip (or a height above it)",
         edits=[("    if (tip - h->height > present_blocks(n))\n        return false;\n",
                 "    if (tip - h->height > present_blocks(n) && false)\n        return false;\n"),
                ("    return b->height == h->height && memcmp(b->hash.b, h->tip.b, TC_HASH_SIZE) == 0;",
                 "    return b->height == h->height || true;")]),
    dict(name="heartbeat-newer", file="core/node_clock.c",
         rule="15: a heartbeat's (height, time) is above the last one taken from its key",
         edits=[("    return p == NULL || h->height > p->height",
                 "    return true || p == NULL || h->height > p->height")]),
    dict(name="heartbeat-warmup", file="core/node_clock.c",
         rule="15: after a start, the clock gives no verdict for two heartbeat intervals",
         edits=[("NODE_CLOCK_WARMUP_HEARTBEATS * interval_ms(n))", "0)")]),
    dict(name="evidence-verify", scenarios=['adv-forge-evidence'], file="core/node_evidence.c",
         rule="14.3: EVIDENCE must verify against the set of its epoch (else INVALID)",
         edits=[("    if (tc_evidence_verify(e, vs, &n->verifier) != 0) {", "    if (false) {")]),
    dict(name="amnesia-pol-round", file="core/block.c",
         rule="14.5: amnesia is a later prevote whose pol_round is below the precommit's round "
              "(a proof-of-lock from that round itself is an honest lock change)",
         edits=[("pv->pol_round < pc->round)", "pv->pol_round <= pc->round)")]),
    dict(name="forensics-amnesia", file="core/node_evidence.c",
         rule="14.5: after a fork, a precommit and a later prevote that is amnesia name their "
              "signer",
         edits=[("            if (tc_votes_amnesia(y, x)) {", "            if (false) {")]),
    dict(name="bft-prevote-pol-round", file="core/bft.c",
         rule="12.3 / 14.5: a prevote for a re-proposal carries the proposal's proof-of-lock "
              "round",
         edits=[("                relied = p->pol_round;\n", "                (void)relied;\n")]),
    dict(name="bft-lock", file="core/bft.c",
         rule="12.3: a locked validator prevotes only its locked value (without a newer "
              "proof-of-lock)",
         edits=[("        bool unlocked = b->locked_round == TC_BFT_ROUND_NONE || "
                 "heq(&b->locked_value, &p->block);",
                 "        bool unlocked = true;")]),
    dict(name="bft-pol-seen", file="core/bft.c",
         rule="12.3: a re-proposal is prevoted only once its proof-of-lock (Q prevotes in "
              "pol_round) is seen",
         edits=[("            if (pol == NULL || !pol->quorum || !heq(&pol->quorum_value, &p->block))\n"
                 "                continue; /* no proof-of-lock seen (yet) */\n",
                 "            (void)pol;\n")]),
    dict(name="bft-proposer-round", file="core/bft.c",
         rule="12.2: proposer(h, r) = S[(h + r) mod W] (a view change hands the proposal on)",
         edits=[("    return (height % weight_total + round % weight_total) % weight_total;",
                 "    return (height % weight_total + 0 * (round % weight_total)) % weight_total;")]),
    dict(name="bft-restore-signed", file="core/node_consensus.c",
         rule="12.5: after a restart the node restores its last-signed state (never signs "
              "twice)",
         edits=[("    return rc == 0 ? tc_bft_restore(n->bft, &s) : rc;",
                 "    (void)s;\n    return rc;")]),
    dict(name="peer-ban-threshold", file="core/peer.c",
         rule="10.7: at misbehaviour_threshold points the peer is disconnected and banned",
         edits=[("    if (s->points < t->profile.misbehaviour_threshold)\n        return 0;\n",
                 "    if (s->points < UINT32_MAX)\n        return 0;\n")]),
    dict(name="peer-auth-sig", file="core/peer.c",
         rule="10.5: the peer's AUTH verifies over our nonce and its key",
         edits=[("    if (tc_verify(&t->verifier, &s->key, &digest, &a->sig) != 0)\n"
                 "        return TC_EBADSIG;\n", "    (void)digest;\n    (void)a;\n")]),
    dict(name="bft-table-retry", file="core/bft.c",
         rule="12.4: a round whose table could not be allocated gets it on the next tick "
              "(else it counts no votes until the next round)",
         edits=[("        (void)table_get(b, b->round); /* memory for it was short at start_round: "
                 "try again */\n", "        (void)0;\n")]),
    dict(name="gossip-cache-age", file="core/gossip.c",
         rule="10.9: a cached frame is served for cache_age_ms, then expires (the cache is "
              "bounded by age, not only by count and bytes)",
         edits=[("        if (g->cache[pos].at_ms + g->c.cache_age_ms >= g->now_ms)\n",
                 "        if (true)\n")]),
    # ---- h-share: one hash per delivery, salted seen keys, the simulator's hash memo ----
    dict(name="peer-object-key-untyped", file="core/peer.c",
         rule="10.9: the seen filter's key of an object names its type and its id",
         edits=[("t->gossip_salt[1] ^ (uint64_t)type * UINT64_C(0x9e3779b97f4a7c15);",
                 "t->gossip_salt[1] ^ (uint64_t)0 * type;")]),
    dict(name="node-recv-id-is-key", file="core/node.c",
         rule="11.3: a vote batch's signature is checked over its signed hash (the frame's "
              "protocol id, not the seen filter's key)",
         edits=[("    return tc_peer_recv_key(n->peers, &key, out, &has_oid) && has_oid;",
                 "    return tc_peer_recv_key(n->peers, out, &key, &has_oid) && has_oid;")]),
    dict(name="fast-sig-memo-half", file="core/crypto.c",
         rule="1: a fast signature is H(tc/fastsig, pubkey || msg) followed by 32 zero bytes, "
              "all 64 checked",
         edits=[("    return memcmp(want.b, sig->b, TC_SIG_SIZE) == 0 ? 0 : TC_EBADSIG;\n}\n\nint tc_verify(",
                 "    return memcmp(want.b, sig->b, TC_HASH_SIZE) == 0 ? 0 : TC_EBADSIG;\n}\n\nint tc_verify(")]),
    dict(name="input-memo-sig", file="core/tx.c",
         rule="3: every input's signature verifies (a remembered check stands only for the very "
              "same input, signature included)",
         edits=[("           memcmp(e->pub.b, pub->b, TC_PUBKEY_SIZE) == 0 &&\n"
                 "           memcmp(e->sig.b, sig->b, TC_SIG_SIZE) == 0;",
                 "           memcmp(e->pub.b, pub->b, TC_PUBKEY_SIZE) == 0 && sig != NULL;")]),
    dict(name="bundle-bad-member-drops-rest", file="core/node.c",
         rule="10.9: each member of a BUNDLE is received as if it had come alone; a bad member "
              "is that member's offence, not a reason to drop the good ones after it",
         edits=[("        if (rc == TC_ENOTFOUND)\n            return;",
                 "        if (rc != 0)\n            return;")]),
    # ---- h-driver: the simulator's frame table ----
    dict(name="sim-frame-table-any-bytes", file="sim/world.c",
         rule="SIMULATOR: a node receives the very bytes its peer sent (the frame table shares "
              "a frame only between sends of equal bytes)",
         edits=[("    if (f != NULL && f->len == len && memcmp(f->bytes, bytes, len) == 0) {",
                 "    if (f != NULL && f->len == len) {")]),
    # ---- the adversary opens bundles ----
    dict(name="adv-bundle-whole", file="sim/adversary.c",
         rule="SCENARIOS: a behaviour that acts on transactions or vote batches meets them inside "
              "a BUNDLE too (an IWANT answer is no way around the adversary)",
         edits=[("    if (kind == TC_ADV_SILENT || kind == TC_ADV_INVALID_SIG || kind == TC_ADV_REPLAY)\n"
                 "        return true;",
                 "    if (kind == TC_ADV_SILENT || kind == TC_ADV_INVALID_SIG || kind == TC_ADV_REPLAY)\n"
                 "        return false;")]),
]
