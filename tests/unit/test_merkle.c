/*
 * test_merkle.c: RFC 6962 tree hashes, the compact range, and inclusion and
 * consistency proofs (merkle.c) against the transparency-dev/merkle vectors
 * (tests/vectors/merkle/, run from the repository root), then exhaustively
 * against our own proofs for every tree of up to 64 leaves, and a timing of
 * proofs over 1,000,000 leaves (printed, not asserted).
 */
#include <glob.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "merkle.h"
#include "testlib.h"

#define VECTORS "tests/vectors/merkle"
#define NVEC_LEAVES 8

static merkle_hash vec_leaves[NVEC_LEAVES];        /* leaf hashes of leaves.json */
static merkle_hash vec_roots[NVEC_LEAVES + 1];     /* roots_hex_by_size */

/* ---------------------------------------------------------------- helpers */

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "test_merkle: %s %s\n", what, arg ? arg : "");
	exit(1);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open", path);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (!buf)
				die("out of memory reading", path);
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/*
 * jansson keeps integers as signed 64-bit, and one vector's leafIdx is
 * 2^64 - 1 (0 - 1 wrapped).  Read the number of "key" from the raw text and
 * blank it to 0 so that jansson can read the rest.
 */
static uint64_t take_u64(char *text, const char *key, const char *path)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	char *p = strstr(text, pat);
	if (!p)
		die("no integer member in", path);
	p += strlen(pat);
	while (*p == ' ')
		p++;
	char *end;
	uint64_t v = strtoull(p, &end, 10);
	if (end == p)
		die("bad integer member in", path);
	p[0] = '0';
	memset(p + 1, ' ', (size_t)(end - p - 1));
	return v;
}

static json_t *load_json(char *text, const char *path)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		die("bad JSON in", path);
	return j;
}

static void hex_hash(const char *hex, merkle_hash out)
{
	size_t bl;
	if (sodium_hex2bin(out, MERKLE_HASH_BYTES, hex, strlen(hex), NULL, &bl, NULL) != 0 ||
	    bl != MERKLE_HASH_BYTES)
		die("bad hex hash", hex);
}

/* A hash as the vectors give it; false when it is not base64 of 32 bytes.
 * Turning the wire form into merkle_hash values is the caller's job (the
 * API takes fixed-size hashes), so a vector that fails here is one that a
 * caller refuses before it reaches the verifier. */
static bool b64_hash(json_t *v, merkle_hash out)
{
	uint8_t buf[64];
	size_t bl;
	const char *s = json_string_value(v);
	if (!s)
		die("not a string in a vector", NULL);
	if (sodium_base642bin(buf, sizeof buf, s, strlen(s), NULL, &bl, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || bl != MERKLE_HASH_BYTES)
		return false;
	memcpy(out, buf, MERKLE_HASH_BYTES);
	return true;
}

static bool b64_proof(json_t *arr, merkle_hash *proof, size_t *len)
{
	size_t i;
	json_t *v;
	*len = json_array_size(arr);
	if (*len > MERKLE_MAX_PROOF)
		return false;
	json_array_foreach(arr, i, v)
		if (!b64_hash(v, proof[i]))
			return false;
	return true;
}

static void load_leaves(void)
{
	char *text = slurp(VECTORS "/leaves.json");
	json_t *j = load_json(text, "leaves.json");
	json_t *leaves = json_object_get(j, "leaves_hex"), *roots = json_object_get(j, "roots_hex_by_size");
	if (json_array_size(leaves) != NVEC_LEAVES || json_array_size(roots) != NVEC_LEAVES + 1)
		die("unexpected shape of", "leaves.json");
	for (size_t i = 0; i < NVEC_LEAVES; i++) {
		const char *hex = json_string_value(json_array_get(leaves, i));
		uint8_t data[64];
		size_t dl;
		if (!hex || sodium_hex2bin(data, sizeof data, hex, strlen(hex), NULL, &dl, NULL) != 0)
			die("bad leaf in", "leaves.json");
		merkle_leaf_hash(data, dl, vec_leaves[i]);
	}
	for (size_t i = 0; i <= NVEC_LEAVES; i++)
		hex_hash(json_string_value(json_array_get(roots, i)), vec_roots[i]);
	json_decref(j);
	free(text);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool eq(const merkle_hash a, const merkle_hash b)
{
	return memcmp(a, b, MERKLE_HASH_BYTES) == 0;
}

/* --------------------------------------------------------- the vectors */

TEST(the_hash_of_an_empty_leaf_and_of_an_empty_tree_are_the_published_ones)
{
	merkle_hash h, empty;
	merkle_leaf_hash("", 0, h);
	CHECK(eq(h, vec_roots[1]));  /* the first vector leaf is the empty string */
	merkle_root(NULL, 0, empty);
	hex_hash("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", h);
	CHECK(eq(empty, h));
	CHECK(eq(vec_roots[0], h));
}

TEST(node_hash_is_sha256_of_0x01_left_right_even_when_out_aliases_an_input)
{
	merkle_hash want, out;
	uint8_t buf[65];
	buf[0] = 0x01;
	memcpy(buf + 1, vec_leaves[0], 32);
	memcpy(buf + 33, vec_leaves[1], 32);
	crypto_hash_sha256(want, buf, sizeof buf);
	merkle_node_hash(vec_leaves[0], vec_leaves[1], out);
	CHECK(eq(out, want));
	CHECK(eq(out, vec_roots[2]));
	memcpy(out, vec_leaves[1], 32);
	merkle_node_hash(vec_leaves[0], out, out);
	CHECK(eq(out, want));
}

TEST(root_and_compact_root_of_the_first_n_vector_leaves_equal_every_published_root)
{
	struct merkle_compact c;
	merkle_compact_init(&c);
	for (uint64_t n = 0; n <= NVEC_LEAVES; n++) {
		merkle_hash r, cr;
		merkle_root(vec_leaves, n, r);
		merkle_compact_root(&c, cr);
		if (!eq(r, vec_roots[n]) || !eq(cr, vec_roots[n]))
			fprintf(stderr, "    root of size %" PRIu64 " differs\n", n);
		CHECK(eq(r, vec_roots[n]));
		CHECK(eq(cr, vec_roots[n]));
		CHECK(c.size == n);
		CHECK(c.n == (unsigned)__builtin_popcountll(n));
		if (n < NVEC_LEAVES)
			merkle_compact_append(&c, vec_leaves[n]);
	}
}

/* Every file of one kind: the happy path verifies, every wantErr file is
 * refused (by the caller's decoding or by the verifier).  Returns the count. */
static int run_inclusion_vectors(int *happy, int *refused_decoding, int *refused_verify)
{
	glob_t g;
	int files = 0;
	if (glob(VECTORS "/inclusion/*/*.json", 0, NULL, &g) != 0)
		die("no inclusion vectors under", VECTORS);
	for (size_t f = 0; f < g.gl_pathc; f++, files++) {
		const char *path = g.gl_pathv[f];
		char *text = slurp(path);
		uint64_t index = take_u64(text, "leafIdx", path), size = take_u64(text, "treeSize", path);
		json_t *j = load_json(text, path);
		bool want_err = json_is_true(json_object_get(j, "wantErr"));
		merkle_hash root, leaf, proof[MERKLE_MAX_PROOF];
		size_t len;
		bool decoded = b64_hash(json_object_get(j, "root"), root) &&
		               b64_hash(json_object_get(j, "leafHash"), leaf) &&
		               b64_proof(json_object_get(j, "proof"), proof, &len);
		struct tg_error err = { "" };
		int rc = decoded ? merkle_inclusion_verify(index, size, leaf, proof, len, root, &err) : -1;
		if (!want_err) {
			if (rc != 0)
				fprintf(stderr, "    %s: %s\n", path, err.msg);
			CHECK(rc == 0);
			(*happy)++;
		} else if (!decoded) {
			(*refused_decoding)++;
		} else {
			if (rc == 0)
				fprintf(stderr, "    %s: accepted\n", path);
			CHECK(rc == -1);
			CHECK(err.msg[0] != '\0');
			(*refused_verify)++;
		}
		json_decref(j);
		free(text);
	}
	globfree(&g);
	return files;
}

TEST(every_published_inclusion_proof_verifies_on_its_happy_path_and_every_wanterr_one_is_refused)
{
	int happy = 0, dec = 0, ver = 0;
	int files = run_inclusion_vectors(&happy, &dec, &ver);
	CHECK(files == 69);
	CHECK(happy == 4);
	/* wrong-leaf (9 bytes), preceding-garbage and trailing-garbage (an empty hash) */
	CHECK(dec == 12);
	CHECK(ver == 53);
}

static int run_consistency_vectors(int *happy, int *refused_decoding, int *refused_verify)
{
	glob_t g;
	int files = 0;
	if (glob(VECTORS "/consistency/*/*.json", 0, NULL, &g) != 0)
		die("no consistency vectors under", VECTORS);
	for (size_t f = 0; f < g.gl_pathc; f++, files++) {
		const char *path = g.gl_pathv[f];
		char *text = slurp(path);
		uint64_t s1 = take_u64(text, "size1", path), s2 = take_u64(text, "size2", path);
		json_t *j = load_json(text, path);
		bool want_err = json_is_true(json_object_get(j, "wantErr"));
		merkle_hash r1, r2, proof[MERKLE_MAX_PROOF];
		size_t len;
		bool decoded = b64_hash(json_object_get(j, "root1"), r1) &&
		               b64_hash(json_object_get(j, "root2"), r2) &&
		               b64_proof(json_object_get(j, "proof"), proof, &len);
		struct tg_error err = { "" };
		int rc = decoded ? merkle_consistency_verify(s1, s2, r1, r2, proof, len, &err) : -1;
		if (!want_err) {
			if (rc != 0)
				fprintf(stderr, "    %s: %s\n", path, err.msg);
			CHECK(rc == 0);
			(*happy)++;
		} else if (!decoded) {
			(*refused_decoding)++;
		} else {
			if (rc == 0)
				fprintf(stderr, "    %s: accepted\n", path);
			CHECK(rc == -1);
			CHECK(err.msg[0] != '\0');
			(*refused_verify)++;
		}
		json_decref(j);
		free(text);
	}
	globfree(&g);
	return files;
}

TEST(every_published_consistency_proof_verifies_on_its_happy_path_and_every_wanterr_one_is_refused)
{
	int happy = 0, dec = 0, ver = 0;
	int files = run_consistency_vectors(&happy, &dec, &ver);
	CHECK(files == 83);
	CHECK(happy == 4);
	/* wrong-root1/2 (9 bytes), preceding-garbage and trailing-garbage */
	CHECK(dec == 16);
	CHECK(ver == 63);
}

/* Read one vector file's proof and sizes, for the tests that need details. */
struct incl_vec { uint64_t index, size; merkle_hash root, leaf, proof[MERKLE_MAX_PROOF]; size_t len; };
static void load_incl(const char *name, struct incl_vec *v)
{
	char path[256];
	snprintf(path, sizeof path, VECTORS "/inclusion/%s", name);
	char *text = slurp(path);
	v->index = take_u64(text, "leafIdx", path);
	v->size = take_u64(text, "treeSize", path);
	json_t *j = load_json(text, path);
	if (!b64_hash(json_object_get(j, "root"), v->root) || !b64_hash(json_object_get(j, "leafHash"), v->leaf) ||
	    !b64_proof(json_object_get(j, "proof"), v->proof, &v->len))
		die("undecodable vector", path);
	json_decref(j);
	free(text);
}

struct cons_vec { uint64_t s1, s2; merkle_hash r1, r2, proof[MERKLE_MAX_PROOF]; size_t len; };
static void load_cons(const char *name, struct cons_vec *v)
{
	char path[256];
	snprintf(path, sizeof path, VECTORS "/consistency/%s", name);
	char *text = slurp(path);
	v->s1 = take_u64(text, "size1", path);
	v->s2 = take_u64(text, "size2", path);
	json_t *j = load_json(text, path);
	if (!b64_hash(json_object_get(j, "root1"), v->r1) || !b64_hash(json_object_get(j, "root2"), v->r2) ||
	    !b64_proof(json_object_get(j, "proof"), v->proof, &v->len))
		die("undecodable vector", path);
	json_decref(j);
	free(text);
}

TEST(refused_inclusion_vectors_say_why)
{
	struct incl_vec v;
	struct tg_error err;

	load_incl("1/leafIdx-sub-@1.json", &v);
	CHECK(merkle_inclusion_verify(v.index, v.size, v.leaf, v.proof, v.len, v.root, &err) == -1);
	CHECK_STREQ(err.msg, "inclusion proof: index 18446744073709551615 is not below the tree size 8");

	load_incl("1/treeSize-mul-@2.json", &v);
	CHECK(merkle_inclusion_verify(v.index, v.size, v.leaf, v.proof, v.len, v.root, &err) == -1);
	CHECK_STREQ(err.msg, "inclusion proof has 3 hashes, but index 0 in a tree of size 16 needs 4");

	load_incl("3/removed-component.json", &v);
	CHECK(merkle_inclusion_verify(v.index, v.size, v.leaf, v.proof, v.len, v.root, &err) == -1);
	CHECK_STREQ(err.msg, "inclusion proof has 0 hashes, but index 2 in a tree of size 3 needs 1");

	load_incl("2/modified-proof[1]-bit-@3.json", &v);
	CHECK(merkle_inclusion_verify(v.index, v.size, v.leaf, v.proof, v.len, v.root, &err) == -1);
	CHECK_STREQ(err.msg, "inclusion proof does not lead to the root");

	load_incl("4/empty-root.json", &v);
	CHECK(merkle_inclusion_verify(v.index, v.size, v.leaf, v.proof, v.len, v.root, &err) == -1);
	CHECK_STREQ(err.msg, "inclusion proof does not lead to the root");
}

TEST(refused_consistency_vectors_say_why)
{
	struct cons_vec v;
	struct tg_error err;

	load_cons("1/empty-proof.json", &v);
	CHECK(merkle_consistency_verify(v.s1, v.s2, v.r1, v.r2, v.proof, v.len, &err) == -1);
	CHECK_STREQ(err.msg, "consistency proof has 0 hashes, but sizes 1 and 8 need 3");

	load_cons("1/size1-sub-@1.json", &v);  /* old size 0 with a non-empty proof */
	CHECK(merkle_consistency_verify(v.s1, v.s2, v.r1, v.r2, v.proof, v.len, &err) == -1);
	CHECK_STREQ(err.msg, "consistency proof from size 0 must be empty, but has 3 hashes");

	load_cons("3/size2-div-@2.json", &v);  /* equal sizes */
	CHECK(merkle_consistency_verify(v.s1, v.s2, v.r1, v.r2, v.proof, v.len, &err) == -1);
	CHECK_STREQ(err.msg, "consistency proof between equal sizes must be empty, but has 2 hashes");

	load_cons("4/size2-div-@2.json", &v);  /* 6 -> 3 */
	CHECK(merkle_consistency_verify(v.s1, v.s2, v.r1, v.r2, v.proof, v.len, &err) == -1);
	CHECK_STREQ(err.msg, "consistency proof: the old size 6 is larger than the new size 3");

	load_cons("2/swapped-roots.json", &v);
	CHECK(merkle_consistency_verify(v.s1, v.s2, v.r1, v.r2, v.proof, v.len, &err) == -1);
	CHECK_STREQ(err.msg, "consistency proof does not lead to the old root");

	load_cons("1/modified-proof@2-bit-@4.json", &v);  /* only the new root depends on it */
	CHECK(merkle_consistency_verify(v.s1, v.s2, v.r1, v.r2, v.proof, v.len, &err) == -1);
	CHECK_STREQ(err.msg, "consistency proof does not lead to the new root");
}

TEST(proofs_generated_from_the_vector_leaves_equal_the_published_happy_path_proofs)
{
	static const char *incl[] = { "1", "2", "3", "4" };
	for (size_t i = 0; i < 4; i++) {
		char name[64];
		struct incl_vec v;
		merkle_hash proof[MERKLE_MAX_PROOF];
		size_t len = 99;
		struct tg_error err;
		snprintf(name, sizeof name, "%s/happy-path.json", incl[i]);
		load_incl(name, &v);
		CHECK(merkle_inclusion_proof(vec_leaves, v.size, v.index, proof, &len, &err) == 0);
		CHECK(len == v.len);
		CHECK(memcmp(proof, v.proof, len * MERKLE_HASH_BYTES) == 0);
		CHECK(eq(v.leaf, vec_leaves[v.index]));
		CHECK(eq(v.root, vec_roots[v.size]));
	}
	for (size_t i = 0; i < 4; i++) {
		char name[64];
		struct cons_vec v;
		merkle_hash proof[MERKLE_MAX_PROOF];
		size_t len = 99;
		struct tg_error err;
		snprintf(name, sizeof name, "%s/happy-path.json", incl[i]);
		load_cons(name, &v);
		CHECK(merkle_consistency_proof(vec_leaves, v.s2, v.s1, proof, &len, &err) == 0);
		CHECK(len == v.len);
		CHECK(memcmp(proof, v.proof, len * MERKLE_HASH_BYTES) == 0);
		CHECK(eq(v.r1, vec_roots[v.s1]));
		CHECK(eq(v.r2, vec_roots[v.s2]));
	}
}

/* ------------------------------------------------- our own trees */

TEST(compact_range_root_equals_merkle_root_for_every_size_from_0_to_1000)
{
	enum { N = 1000 };
	static merkle_hash leaves[N];
	randombytes_buf(leaves, sizeof leaves);
	struct merkle_compact c;
	merkle_compact_init(&c);
	int bad = 0;
	for (uint64_t n = 0; n <= N; n++) {
		merkle_hash r, cr;
		merkle_root(leaves, n, r);
		merkle_compact_root(&c, cr);
		if (!eq(r, cr) || c.size != n)
			bad++;
		if (n < N)
			merkle_compact_append(&c, leaves[n]);
	}
	CHECK(bad == 0);
}

TEST(every_inclusion_proof_up_to_64_leaves_verifies_and_any_tampering_is_refused)
{
	enum { N = 64 };
	merkle_hash leaves[N];
	randombytes_buf(leaves, sizeof leaves);
	int ok = 0, bad_ok = 0, tamper_accepted = 0, proofs = 0;
	for (uint64_t size = 1; size <= N; size++) {
		merkle_hash root;
		merkle_root(leaves, size, root);
		for (uint64_t index = 0; index < size; index++) {
			merkle_hash proof[MERKLE_MAX_PROOF];
			size_t len;
			struct tg_error err;
			proofs++;
			if (merkle_inclusion_proof(leaves, size, index, proof, &len, &err) != 0 ||
			    merkle_inclusion_verify(index, size, leaves[index], proof, len, root, &err) != 0) {
				bad_ok++;
				continue;
			}
			ok++;
			/* Each hash of the proof, one bit flipped. */
			for (size_t i = 0; i < len; i++) {
				proof[i][i % MERKLE_HASH_BYTES] ^= 0x01;
				if (merkle_inclusion_verify(index, size, leaves[index], proof, len, root, &err) == 0)
					tamper_accepted++;
				proof[i][i % MERKLE_HASH_BYTES] ^= 0x01;
			}
			/* Another leaf, another index, another size, a hash too few or too many. */
			if (merkle_inclusion_verify(index, size, leaves[(index + 1) % N], proof, len, root, &err) == 0)
				tamper_accepted++;
			if (index + 1 < size &&
			    merkle_inclusion_verify(index + 1, size, leaves[index], proof, len, root, &err) == 0)
				tamper_accepted++;
			if (size < N) {
				merkle_hash bigger;
				merkle_root(leaves, size + 1, bigger);
				if (merkle_inclusion_verify(index, size + 1, leaves[index], proof, len, bigger, &err) == 0)
					tamper_accepted++;
			}
			if (len > 0 &&
			    merkle_inclusion_verify(index, size, leaves[index], proof, len - 1, root, &err) == 0)
				tamper_accepted++;
			memcpy(proof[len], root, MERKLE_HASH_BYTES);
			if (merkle_inclusion_verify(index, size, leaves[index], proof, len + 1, root, &err) == 0)
				tamper_accepted++;
		}
	}
	CHECK(proofs == N * (N + 1) / 2);
	CHECK(ok == proofs);
	CHECK(bad_ok == 0);
	CHECK(tamper_accepted == 0);
}

TEST(every_consistency_proof_up_to_64_leaves_verifies_and_any_tampering_is_refused)
{
	enum { N = 64 };
	merkle_hash leaves[N], roots[N + 1];
	randombytes_buf(leaves, sizeof leaves);
	for (uint64_t n = 0; n <= N; n++)
		merkle_root(leaves, n, roots[n]);
	int ok = 0, bad_ok = 0, tamper_accepted = 0, proofs = 0;
	for (uint64_t new_size = 1; new_size <= N; new_size++) {
		for (uint64_t old_size = 0; old_size <= new_size; old_size++) {
			merkle_hash proof[MERKLE_MAX_PROOF];
			size_t len;
			struct tg_error err;
			proofs++;
			if (merkle_consistency_proof(leaves, new_size, old_size, proof, &len, &err) != 0 ||
			    merkle_consistency_verify(old_size, new_size, roots[old_size], roots[new_size], proof,
			                              len, &err) != 0) {
				bad_ok++;
				continue;
			}
			ok++;
			for (size_t i = 0; i < len; i++) {
				proof[i][i % MERKLE_HASH_BYTES] ^= 0x80;
				if (merkle_consistency_verify(old_size, new_size, roots[old_size], roots[new_size],
				                              proof, len, &err) == 0)
					tamper_accepted++;
				proof[i][i % MERKLE_HASH_BYTES] ^= 0x80;
			}
			merkle_hash r;
			memcpy(r, roots[old_size], MERKLE_HASH_BYTES);
			r[0] ^= 1;
			if (merkle_consistency_verify(old_size, new_size, r, roots[new_size], proof, len, &err) == 0)
				tamper_accepted++;
			/* Every tree extends the empty one, whatever its root. */
			memcpy(r, roots[new_size], MERKLE_HASH_BYTES);
			r[31] ^= 1;
			if (old_size > 0 &&
			    merkle_consistency_verify(old_size, new_size, roots[old_size], r, proof, len, &err) == 0)
				tamper_accepted++;
			/* The same proof between other sizes. */
			if (old_size > 0 && old_size + 1 < new_size &&
			    merkle_consistency_verify(old_size + 1, new_size, roots[old_size + 1], roots[new_size],
			                              proof, len, &err) == 0)
				tamper_accepted++;
			if (new_size < N && old_size > 0 && old_size < new_size &&
			    merkle_consistency_verify(old_size, new_size + 1, roots[old_size], roots[new_size + 1],
			                              proof, len, &err) == 0)
				tamper_accepted++;
			memcpy(proof[len], roots[new_size], MERKLE_HASH_BYTES);
			if (merkle_consistency_verify(old_size, new_size, roots[old_size], roots[new_size], proof,
			                              len + 1, &err) == 0)
				tamper_accepted++;
		}
	}
	CHECK(proofs == N * (N + 3) / 2);
	CHECK(ok == proofs);
	CHECK(bad_ok == 0);
	CHECK(tamper_accepted == 0);
}

TEST(proof_generation_refuses_an_index_or_old_size_outside_the_tree)
{
	merkle_hash proof[MERKLE_MAX_PROOF];
	size_t len;
	struct tg_error err;
	CHECK(merkle_inclusion_proof(vec_leaves, 8, 9, proof, &len, &err) == -1);
	CHECK_STREQ(err.msg, "inclusion proof: index 9 is not below the tree size 8");
	CHECK(merkle_inclusion_proof(vec_leaves, 0, 0, proof, &len, &err) == -1);
	CHECK_STREQ(err.msg, "inclusion proof: index 0 is not below the tree size 0");
	CHECK(merkle_consistency_proof(vec_leaves, 5, 6, proof, &len, &err) == -1);
	CHECK_STREQ(err.msg, "consistency proof: the old size 6 is larger than the new size 5");
}

TEST(consistency_from_the_empty_tree_needs_the_empty_root_and_an_empty_proof)
{
	struct tg_error err;
	merkle_hash zero = { 0 };
	CHECK(merkle_consistency_verify(0, 8, vec_roots[0], vec_roots[8], NULL, 0, &err) == 0);
	CHECK(merkle_consistency_verify(0, 0, vec_roots[0], vec_roots[0], NULL, 0, &err) == 0);
	CHECK(merkle_consistency_verify(0, 8, zero, vec_roots[8], NULL, 0, &err) == -1);
	CHECK_STREQ(err.msg, "consistency proof: the old root is not the root of the empty tree");
	CHECK(merkle_consistency_verify(8, 8, vec_roots[8], vec_roots[7], NULL, 0, &err) == -1);
	CHECK_STREQ(err.msg, "consistency proof: the trees both have size 8 but different roots");
}

TEST(verifiers_handle_trees_near_2_to_the_64_without_overflow)
{
	struct tg_error err;
	merkle_hash proof[MERKLE_MAX_PROOF] = { { 0 } };
	/* The first leaf of the largest possible tree is 64 levels deep. */
	CHECK(merkle_inclusion_verify(0, UINT64_MAX, vec_leaves[0], proof, 63, vec_roots[8], &err) == -1);
	CHECK_STREQ(err.msg, "inclusion proof has 63 hashes, but index 0 in a tree of size "
	            "18446744073709551615 needs 64");
	CHECK(merkle_inclusion_verify(0, UINT64_MAX, vec_leaves[0], proof, 64, vec_roots[8], &err) == -1);
	CHECK_STREQ(err.msg, "inclusion proof does not lead to the root");
	CHECK(merkle_consistency_verify(UINT64_MAX - 1, UINT64_MAX, vec_roots[1], vec_roots[8], proof, 0, &err) == -1);
	CHECK_CONTAINS(err.msg, "consistency proof has 0 hashes, but sizes 18446744073709551614 and "
	               "18446744073709551615 need ");
}

/* ------------------------------------------------------------- timing */

TEST(proofs_over_a_million_leaves_verify_and_their_timing_is_printed)
{
	enum { N = 1000000 };
	merkle_hash *leaves = malloc(sizeof(merkle_hash) * N);
	CHECK(leaves != NULL);
	if (!leaves)
		return;
	struct merkle_compact c;
	merkle_compact_init(&c);
	for (uint32_t i = 0; i < N; i++) {
		merkle_leaf_hash(&i, sizeof i, leaves[i]);
		merkle_compact_append(&c, leaves[i]);
	}
	merkle_hash root, old_root, proof[MERKLE_MAX_PROOF];
	size_t len;
	struct tg_error err;
	merkle_compact_root(&c, root);

	double t0 = now();
	int rc = merkle_inclusion_proof(leaves, N, 654321, proof, &len, &err);
	double t1 = now();
	CHECK(rc == 0);
	CHECK(merkle_inclusion_verify(654321, N, leaves[654321], proof, len, root, &err) == 0);
	printf("     inclusion proof over %d leaves: %.3f s, %zu hashes\n", N, t1 - t0, len);

	merkle_root(leaves, 999999, old_root);
	t0 = now();
	rc = merkle_consistency_proof(leaves, N, 999999, proof, &len, &err);
	t1 = now();
	CHECK(rc == 0);
	CHECK(merkle_consistency_verify(999999, N, old_root, root, proof, len, &err) == 0);
	printf("     consistency proof over %d leaves (from 999999): %.3f s, %zu hashes\n", N, t1 - t0, len);
	free(leaves);
}

int main(void)
{
	load_leaves();
	RUN(the_hash_of_an_empty_leaf_and_of_an_empty_tree_are_the_published_ones);
	RUN(node_hash_is_sha256_of_0x01_left_right_even_when_out_aliases_an_input);
	RUN(root_and_compact_root_of_the_first_n_vector_leaves_equal_every_published_root);
	RUN(every_published_inclusion_proof_verifies_on_its_happy_path_and_every_wanterr_one_is_refused);
	RUN(every_published_consistency_proof_verifies_on_its_happy_path_and_every_wanterr_one_is_refused);
	RUN(refused_inclusion_vectors_say_why);
	RUN(refused_consistency_vectors_say_why);
	RUN(proofs_generated_from_the_vector_leaves_equal_the_published_happy_path_proofs);
	RUN(compact_range_root_equals_merkle_root_for_every_size_from_0_to_1000);
	RUN(every_inclusion_proof_up_to_64_leaves_verifies_and_any_tampering_is_refused);
	RUN(every_consistency_proof_up_to_64_leaves_verifies_and_any_tampering_is_refused);
	RUN(proof_generation_refuses_an_index_or_old_size_outside_the_tree);
	RUN(consistency_from_the_empty_tree_needs_the_empty_root_and_an_empty_proof);
	RUN(verifiers_handle_trees_near_2_to_the_64_without_overflow);
	RUN(proofs_over_a_million_leaves_verify_and_their_timing_is_printed);
	return TEST_SUMMARY();
}
