/*
 * merkle.h: the RFC 6962 Merkle tree over the audit log (RFC 9162 proofs).
 *
 * The leaves of the audit tree are the log's record lines without their
 * newline.  The broker keeps a compact range (struct merkle_compact) so that
 * signing a checkpoint after each batch costs O(log n) hashes; `toolgate
 * audit prove` and `toolgate audit consistency` read the leaf hashes of the
 * whole log and build inclusion and consistency proofs from them; anyone
 * holding a checkpoint verifies those proofs with the *_verify functions.
 * Everything here is pure: no I/O, no allocation, no global state.
 */
#ifndef TOOLGATE_MERKLE_H
#define TOOLGATE_MERKLE_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define MERKLE_HASH_BYTES 32
/* A tree of at most 2^64 - 1 leaves needs at most 64 hashes in a proof. */
#define MERKLE_MAX_PROOF 64

typedef uint8_t merkle_hash[MERKLE_HASH_BYTES];

/* SHA-256(0x00 || data): the 0x00 and 0x01 prefixes keep a leaf from ever
 * being passed off as an inner node (RFC 6962 2.1). */
void merkle_leaf_hash(const void *data, size_t len, merkle_hash out);
/* SHA-256(0x01 || l || r); out may be l or r. */
void merkle_node_hash(const merkle_hash l, const merkle_hash r, merkle_hash out);

/*
 * The compact range of a growing log: the roots of the perfect subtrees
 * covering leaves [0, size), largest (leftmost) first, one per set bit of
 * size, so n == popcount(size) <= 64.  Appending merges equal-sized subtrees
 * like a binary counter carries, so it never rehashes the log.
 */
struct merkle_compact {
	uint64_t size;
	unsigned n;
	merkle_hash nodes[64];
};
void merkle_compact_init(struct merkle_compact *c);
void merkle_compact_append(struct merkle_compact *c, const merkle_hash leaf);
/* The root of the tree of c->size leaves; size 0: SHA-256 of the empty string. */
void merkle_compact_root(const struct merkle_compact *c, merkle_hash root);

/* Over a whole list of n leaf hashes (what `toolgate audit prove` reads from
 * the log).  Each generator hashes every node at most once: O(n). */
void merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash root);

/* RFC 6962 2.1.1 audit path of leaves[index] in the tree of the n leaves;
 * *len hashes, leaf-side first. */
int merkle_inclusion_proof(const merkle_hash *leaves, uint64_t n, uint64_t index,
                           merkle_hash proof[MERKLE_MAX_PROOF], size_t *len, struct tg_error *err);

/* RFC 9162 2.1.3.2.  0 when leaf is leaf number index of the tree of size
 * leaves whose root is root; else -1: "inclusion proof does not lead to the
 * root", or why the proof cannot fit (index, length). */
int merkle_inclusion_verify(uint64_t index, uint64_t size, const merkle_hash leaf,
                            const merkle_hash *proof, size_t len, const merkle_hash root,
                            struct tg_error *err);

/* RFC 6962 2.1.2 proof that the first old_size leaves are a prefix of the n
 * leaves.  old_size 0 or n gives the empty proof. */
int merkle_consistency_proof(const merkle_hash *leaves, uint64_t n, uint64_t old_size,
                             merkle_hash proof[MERKLE_MAX_PROOF], size_t *len, struct tg_error *err);

/* RFC 9162 2.1.4.2.  Equal sizes need an empty proof and equal roots; old
 * size 0 needs an empty proof and the empty tree's root as old_root. */
int merkle_consistency_verify(uint64_t old_size, uint64_t new_size, const merkle_hash old_root,
                              const merkle_hash new_root, const merkle_hash *proof, size_t len,
                              struct tg_error *err);

#endif
