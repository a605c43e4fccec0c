/*
 * merkle.c: RFC 6962 Merkle tree hashes, the compact range the broker keeps
 * while it appends, and RFC 6962 / RFC 9162 inclusion and consistency proofs
 * (see merkle.h).
 *
 * Generators follow the recursive definitions of RFC 6962 2.1: every split
 * puts the largest power of two below n on the left, and the sibling subtrees
 * along one path are disjoint, so a proof over n leaves hashes each node at
 * most once.  Verifiers follow RFC 9162 2.1.3.2 and 2.1.4.2 step by step.
 * Before hashing anything, a verifier works out from the sizes alone how many
 * hashes the proof must have, so a short, long or padded proof is refused with
 * a message that says so rather than as a mere root mismatch.
 *
 * SHA-256 comes from libsodium, whose hashing cannot fail, so the hash
 * functions need no error path.
 */
#include "merkle.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include <sodium.h>

void merkle_leaf_hash(const void *data, size_t len, merkle_hash out)
{
	static const uint8_t prefix = 0x00;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void merkle_node_hash(const merkle_hash l, const merkle_hash r, merkle_hash out)
{
	uint8_t buf[1 + 2 * MERKLE_HASH_BYTES];
	buf[0] = 0x01;
	memcpy(buf + 1, l, MERKLE_HASH_BYTES);
	memcpy(buf + 1 + MERKLE_HASH_BYTES, r, MERKLE_HASH_BYTES);
	crypto_hash_sha256(out, buf, sizeof buf);
}

static void empty_root(merkle_hash out)
{
	crypto_hash_sha256(out, (const uint8_t *)"", 0);
}

static bool hash_eq(const merkle_hash a, const merkle_hash b)
{
	return memcmp(a, b, MERKLE_HASH_BYTES) == 0;
}

/* ------------------------------------------------------------ compact range */

void merkle_compact_init(struct merkle_compact *c)
{
	memset(c, 0, sizeof *c);
}

void merkle_compact_append(struct merkle_compact *c, const merkle_hash leaf)
{
	/* A log of 2^64 - 1 records is out of reach; refusing keeps n <= 64. */
	if (c->size == UINT64_MAX)
		return;
	merkle_hash h;
	memcpy(h, leaf, MERKLE_HASH_BYTES);
	/* Each trailing one bit of size is a subtree as big as the one being
	 * carried: merge them, as adding one to a binary counter carries. */
	for (uint64_t s = c->size; s & 1; s >>= 1)
		merkle_node_hash(c->nodes[--c->n], h, h);
	memcpy(c->nodes[c->n++], h, MERKLE_HASH_BYTES);
	c->size++;
}

void merkle_compact_root(const struct merkle_compact *c, merkle_hash root)
{
	if (c->n == 0) {
		empty_root(root);
		return;
	}
	/* RFC 6962 puts the largest perfect subtree on the left at every level,
	 * so the root folds the subtrees together from the right. */
	merkle_hash r;
	memcpy(r, c->nodes[c->n - 1], MERKLE_HASH_BYTES);
	for (unsigned i = c->n - 1; i > 0; i--)
		merkle_node_hash(c->nodes[i - 1], r, r);
	memcpy(root, r, MERKLE_HASH_BYTES);
}

/* ------------------------------------------------------- whole-list hashing */

/* The largest power of two strictly below n (n >= 2): RFC 6962's split k. */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* MTH(D[n]); the recursion is at most 64 deep. */
static void mth(const merkle_hash *d, uint64_t n, merkle_hash out)
{
	if (n == 0) {
		empty_root(out);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], MERKLE_HASH_BYTES);
		return;
	}
	uint64_t k = split_point(n);
	merkle_hash l, r;
	mth(d, k, l);
	mth(d + k, n - k, r);
	merkle_node_hash(l, r, out);
}

void merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash root)
{
	mth(leaves, n, root);
}

/* ------------------------------------------------------- proof lengths */

/*
 * The verification loops of RFC 9162 consume one proof hash per iteration
 * and must end exactly when sn reaches 0, and the way fn and sn move depends
 * on the sizes alone.  Running the loops without hashing therefore gives the
 * one length a valid proof can have.
 *
 * step() is RFC 9162 steps 3b-3c (and 6b-6c): how fn and sn move after one
 * hash.  A node that is last on its level and a left child (fn == sn, fn
 * even) has no sibling there, so the walk climbs until it has one.
 */
static void step(uint64_t *fn, uint64_t *sn)
{
	if (*fn == *sn && !(*fn & 1))
		while (!(*fn & 1) && *fn != 0) {
			*fn >>= 1;
			*sn >>= 1;
		}
	*fn >>= 1;
	*sn >>= 1;
}

/* index < size */
static size_t inclusion_len(uint64_t index, uint64_t size)
{
	uint64_t fn = index, sn = size - 1;
	size_t len = 0;
	while (sn != 0) {
		step(&fn, &sn);
		len++;
	}
	return len;
}

/* 0 < old_size < new_size; counts the hashes the proof itself carries. */
static size_t consistency_len(uint64_t old_size, uint64_t new_size)
{
	uint64_t fn = old_size - 1, sn = new_size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	size_t len = 1;  /* the starting hash */
	while (sn != 0) {
		step(&fn, &sn);
		len++;
	}
	/* For a power-of-two old size the starting hash is the old root itself,
	 * which the verifier already has. */
	if ((old_size & (old_size - 1)) == 0)
		len--;
	return len;
}

/* ------------------------------------------------------- inclusion proofs */

/* RFC 6962 2.1.1 PATH(m, D[n]), appended to proof[*len...]. */
static void path(const merkle_hash *d, uint64_t n, uint64_t m, merkle_hash *proof, size_t *len)
{
	if (n <= 1)
		return;
	uint64_t k = split_point(n);
	if (m < k) {
		path(d, k, m, proof, len);
		mth(d + k, n - k, proof[(*len)++]);
	} else {
		path(d + k, n - k, m - k, proof, len);
		mth(d, k, proof[(*len)++]);
	}
}

int merkle_inclusion_proof(const merkle_hash *leaves, uint64_t n, uint64_t index,
                           merkle_hash proof[MERKLE_MAX_PROOF], size_t *len, struct tg_error *err)
{
	if (index >= n)
		return tg_err(err, "inclusion proof: index %" PRIu64 " is not below the tree size %" PRIu64,
		              index, n);
	*len = 0;
	path(leaves, n, index, proof, len);
	return 0;
}

int merkle_inclusion_verify(uint64_t index, uint64_t size, const merkle_hash leaf,
                            const merkle_hash *proof, size_t len, const merkle_hash root,
                            struct tg_error *err)
{
	if (index >= size)
		return tg_err(err, "inclusion proof: index %" PRIu64 " is not below the tree size %" PRIu64,
		              index, size);
	size_t want = inclusion_len(index, size);
	if (len != want)
		return tg_err(err, "inclusion proof has %zu hashes, but index %" PRIu64
		              " in a tree of size %" PRIu64 " needs %zu", len, index, size, want);

	uint64_t fn = index, sn = size - 1;
	merkle_hash r;
	memcpy(r, leaf, MERKLE_HASH_BYTES);
	for (size_t i = 0; i < len; i++) {
		if (sn == 0)  /* unreachable after the length check; RFC step 3a */
			return tg_err(err, "inclusion proof has more hashes than the tree has levels");
		if ((fn & 1) || fn == sn)
			merkle_node_hash(proof[i], r, r);
		else
			merkle_node_hash(r, proof[i], r);
		step(&fn, &sn);
	}
	if (sn != 0 || !hash_eq(r, root))
		return tg_err(err, "inclusion proof does not lead to the root");
	return 0;
}

/* ------------------------------------------------------ consistency proofs */

/* RFC 6962 2.1.2 SUBPROOF(m, D[n], b), appended to proof[*len...]. */
static void subproof(const merkle_hash *d, uint64_t n, uint64_t m, bool b,
                     merkle_hash *proof, size_t *len)
{
	if (m == n) {
		if (!b)
			mth(d, n, proof[(*len)++]);
		return;
	}
	uint64_t k = split_point(n);
	if (m <= k) {
		subproof(d, k, m, b, proof, len);
		mth(d + k, n - k, proof[(*len)++]);
	} else {
		subproof(d + k, n - k, m - k, false, proof, len);
		mth(d, k, proof[(*len)++]);
	}
}

int merkle_consistency_proof(const merkle_hash *leaves, uint64_t n, uint64_t old_size,
                             merkle_hash proof[MERKLE_MAX_PROOF], size_t *len, struct tg_error *err)
{
	if (old_size > n)
		return tg_err(err, "consistency proof: the old size %" PRIu64
		              " is larger than the new size %" PRIu64, old_size, n);
	*len = 0;
	if (old_size == 0 || old_size == n)
		return 0;
	/* Only a tree of close to 2^64 leaves could need more; none fits in memory. */
	if (consistency_len(old_size, n) > MERKLE_MAX_PROOF)
		return tg_err(err, "consistency proof from size %" PRIu64 " to %" PRIu64
		              " needs more than %d hashes", old_size, n, MERKLE_MAX_PROOF);
	subproof(leaves, n, old_size, true, proof, len);
	return 0;
}

int merkle_consistency_verify(uint64_t old_size, uint64_t new_size, const merkle_hash old_root,
                              const merkle_hash new_root, const merkle_hash *proof, size_t len,
                              struct tg_error *err)
{
	if (old_size > new_size)
		return tg_err(err, "consistency proof: the old size %" PRIu64
		              " is larger than the new size %" PRIu64, old_size, new_size);
	if (old_size == new_size) {
		if (len != 0)
			return tg_err(err, "consistency proof between equal sizes must be empty, but has %zu hashes",
			              len);
		if (!hash_eq(old_root, new_root))
			return tg_err(err, "consistency proof: the trees both have size %" PRIu64
			              " but different roots", old_size);
		return 0;
	}
	if (old_size == 0) {
		/* Every tree extends the empty one; only its root can be wrong. */
		merkle_hash empty;
		empty_root(empty);
		if (len != 0)
			return tg_err(err, "consistency proof from size 0 must be empty, but has %zu hashes", len);
		if (!hash_eq(old_root, empty))
			return tg_err(err, "consistency proof: the old root is not the root of the empty tree");
		return 0;
	}
	size_t want = consistency_len(old_size, new_size);
	if (len != want)
		return tg_err(err, "consistency proof has %zu hashes, but sizes %" PRIu64 " and %" PRIu64
		              " need %zu", len, old_size, new_size, want);

	/* RFC 9162 2.1.4.2 step 2: for a power-of-two old size the old root is
	 * the first node of the path, so it is prepended rather than sent. */
	bool pow2 = (old_size & (old_size - 1)) == 0;
	const uint8_t *first = pow2 ? old_root : proof[0];
	size_t i = pow2 ? 0 : 1;

	uint64_t fn = old_size - 1, sn = new_size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	merkle_hash fr, sr;
	memcpy(fr, first, MERKLE_HASH_BYTES);
	memcpy(sr, first, MERKLE_HASH_BYTES);
	for (; i < len; i++) {
		if (sn == 0)  /* unreachable after the length check; RFC step 6a */
			return tg_err(err, "consistency proof has more hashes than the tree has levels");
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
		} else {
			merkle_node_hash(sr, proof[i], sr);
		}
		step(&fn, &sn);
	}
	if (sn != 0)
		return tg_err(err, "consistency proof has fewer hashes than the tree has levels");
	if (!hash_eq(fr, old_root))
		return tg_err(err, "consistency proof does not lead to the old root");
	if (!hash_eq(sr, new_root))
		return tg_err(err, "consistency proof does not lead to the new root");
	return 0;
}
