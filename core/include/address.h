/* address.h — the text form of an address (PROTOCOL 2).
 *
 * An address is the 20-byte hash of a public key (tc_addr_from_pubkey in tx.h). Its text form is
 *   "TIME" + network digit ('0' testnet, '1' mainnet) + base58(hash20 || checksum4)
 * with the Bitcoin base58 alphabet, where checksum4 is the first four bytes of
 * H(tc/addrsum, network byte || hash20). The checksum covers the network, so flipping the prefix
 * digit of a valid address is caught as a typo, and any single-character change or adjacent
 * transposition is rejected (tested exhaustively on several addresses).
 *
 * Base58 keeps leading zero bytes as leading '1' characters, so the text <-> bytes map is a
 * bijection: a text that decodes re-encodes to exactly itself. This module owns only the text
 * form; it holds no state.
 */
#ifndef TC_ADDRESS_H
#define TC_ADDRESS_H

#include "base.h"
#include "profile.h"

/* "TIME0" / "TIME1". */
#define TC_ADDRESS_PREFIX_LEN 5
/* base58 of 24 bytes takes at most 33 characters (24 * log(256) / log(58) = 32.8). */
#define TC_ADDRESS_BODY_MAX 33
/* Buffer size for the text form, terminator included. */
#define TC_ADDRESS_TEXT_MAX (TC_ADDRESS_PREFIX_LEN + TC_ADDRESS_BODY_MAX + 1)

/* Writes the NUL-terminated text form of hash on network net into out. Cannot fail. */
void tc_address_encode(tc_network net, const tc_addr_hash *hash, char out[TC_ADDRESS_TEXT_MAX]);

/* Parses a NUL-terminated address of network expected into *out. Returns 0 or, checked in this
 * order: TC_EADDR_PREFIX (not "TIME0"/"TIME1"), TC_EADDR_CHAR (a character outside base58),
 * TC_EADDR_LENGTH (does not decode to 24 bytes), TC_EADDR_CHECKSUM (a typo),
 * TC_EADDR_NETWORK (a well-formed address of the other network). *out is zeroed on failure. */
int tc_address_decode(const char *text, tc_network expected, tc_addr_hash *out);

/* As tc_address_decode, but accepts either network and reports which in *net_out (a wallet or
 * time-cli can then say "this is a mainnet address"). Never returns TC_EADDR_NETWORK. */
int tc_address_decode_any(const char *text, tc_network *net_out, tc_addr_hash *out);

#endif
