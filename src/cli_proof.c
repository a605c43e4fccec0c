/*
 * cli_proof.c: the audit log's Merkle proofs on the command line (see
 * cli_proof.h): `toolgate audit checkpoint`, `audit prove`, `audit
 * consistency`, and the checkpoint half of `audit verify --checkpoint`.
 *
 * The leaves are the log's record lines without their newline (SPEC, audit
 * log); a checkpoint is a C2SP signed note whose key name is its origin (the
 * broker id), verified with the audit public key: --key, or by default
 * keys/audit.pub beside the log's directory (STATE_DIR/keys/audit.pub for
 * STATE_DIR/audit/audit.log).  Hashes are printed in standard base64, as
 * checkpoints carry their root.
 */
#include "cli_proof.h"
#include "cli_util.h"
#include "keys.h"
#include "audit_files.h"
#include "merkle.h"
#include "note.h"

#include <errno.h>
#include <dirent.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


static const char checkpoint_usage[] = "usage: toolgate audit checkpoint STATE_DIR [--key AUDIT.pub]";
static const char prove_usage[] =
	"usage: toolgate audit prove LOG --seq N [--checkpoint FILE] [--key AUDIT.pub]";
static const char consistency_usage[] =
	"usage: toolgate audit consistency OLD_CHECKPOINT NEW_CHECKPOINT LOG [--key AUDIT.pub]";

/* ---- reading ---- */

/* Every complete line's leaf hash.  0, or -1 with err. */
static int read_leaves(const char *log, merkle_hash **out, uint64_t *n, struct tg_error *err)
{
	struct audit_lines *l = audit_lines_open(log, err);
	if (!l)
		return -1;
	const struct audit_files *files = audit_lines_files(l);
	merkle_hash *v = NULL;
	uint64_t count = 0, cap = 0;
	int rc = 0;
	/* The tree's leaves are numbered from seq 1: a log without its
	   beginning has no proofs. */
	if (files->n && files->v[0].first > 1)
		rc = tg_err(err, "%s: begins at seq %" PRIu64 ": proofs need the whole log from seq 1 "
		            "(give the audit directory, with every segment)", log, files->v[0].first);
	while (rc == 0) {
		char *line;
		size_t len;
		bool complete;
		int got = audit_lines_next(l, &line, &len, &complete, err);
		if (got < 0)
			rc = -1;
		if (got <= 0)
			break;
		if (!complete) {
			rc = tg_err(err, "%s: seq %" PRIu64 ": truncated (no newline at end of file)", log,
			            count + 1);
			break;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 4096;
			merkle_hash *nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				rc = tg_err(err, "%s: out of memory", log);
				break;
			}
			v = nv;
		}
		merkle_leaf_hash(line, len, v[count++]);
	}
	audit_lines_close(l);
	if (rc < 0) {
		free(v);
		return -1;
	}
	*out = v;
	*n = count;
	return 0;
}

/* STATE_DIR/keys/audit.pub for STATE_DIR/audit/<log> or STATE_DIR/audit. */
static void default_key(const char *log, char out[PATH_MAX])
{
	char dir[PATH_MAX];
	struct stat st;
	snprintf(dir, sizeof dir, "%s", log);
	char *slash = strrchr(dir, '/');
	if (stat(log, &st) == 0 && S_ISDIR(st.st_mode))
		;
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	if (snprintf(out, PATH_MAX, "%.4000s/../keys/audit.pub", dir) >= PATH_MAX)
		out[0] = '\0';
}

struct checkpoint {
	char origin[256];
	uint64_t size;
	merkle_hash root;
};

/* Read, verify (signature by the audit key under its origin's name) and
   parse a checkpoint file.  0, or -1 with err. */
int cli_read_checkpoint(const char *path, const char *key_path, char *origin, size_t on,
                        uint64_t *size, unsigned char root[32], struct tg_error *err)
{
	unsigned char pk[KEYS_PUBLIC_BYTES];
	if (keys_load_public(key_path, pk, err) < 0)
		return -1;
	FILE *f = fopen(path, "re");
	if (!f)
		return tg_err_errno(err, "%s: cannot open", path);
	char *note = malloc(NOTE_MAX_BYTES + 1);
	size_t len = note ? fread(note, 1, NOTE_MAX_BYTES + 1, f) : 0;
	fclose(f);
	if (!note)
		return tg_err(err, "out of memory");
	if (len > NOTE_MAX_BYTES) {
		free(note);
		return tg_err(err, "%s: larger than %d bytes: not a checkpoint", path, NOTE_MAX_BYTES);
	}
	note[len] = '\0';
	/* The key name is the origin, the text's first line. */
	char name[256];
	size_t nl = strcspn(note, "\n");
	if (nl == 0 || nl >= sizeof name) {
		free(note);
		return tg_err(err, "%s: not a checkpoint (no origin line)", path);
	}
	memcpy(name, note, nl);
	name[nl] = '\0';
	char *text = NULL;
	if (note_verify(note, len, name, pk, &text, err) < 0 ||
	    checkpoint_parse(text, origin, on, size, root, err) < 0) {
		free(note);
		free(text);
		return tg_err_prefix(err, "%s", path);
	}
	free(note);
	free(text);
	return 0;
}

static char *b64(const merkle_hash h, char out[64])
{
	sodium_bin2base64(out, 64, h, MERKLE_HASH_BYTES, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static json_t *hash_array(const merkle_hash *v, size_t n)
{
	json_t *a = json_array();
	char s[64];
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(b64(v[i], s)));
	return a;
}

static int print_json(json_t *o)
{
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!text) {
		fprintf(stderr, "toolgate audit: out of memory\n");
		return 1;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

static int fail(const char *cmd, const struct tg_error *err)
{
	fprintf(stderr, "%s: %s\n", cmd, err->msg);
	return 1;
}

/* ---- audit checkpoint STATE_DIR ---- */

int cli_audit_checkpoint(int argc, char **argv)
{
	static const char cmd[] = "toolgate audit checkpoint";
	const char *state = NULL, *key = NULL;
	for (int i = 1; i < argc; i++) {
		int m;
		if (cli_is_help(argv[i])) {
			printf("%s\n", checkpoint_usage);
			return 0;
		}
		if ((m = cli_opt_value(argc, argv, &i, "--key", &key)) != 0) {
			if (m < 0)
				return cli_usage_error(cmd, checkpoint_usage, "--key needs a public key file");
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error(cmd, checkpoint_usage, "unknown option %s", argv[i]);
		if (state)
			return cli_usage_error(cmd, checkpoint_usage, "unexpected argument %s", argv[i]);
		state = argv[i];
	}
	if (!state)
		return cli_usage_error(cmd, checkpoint_usage, "missing STATE_DIR");
	char dir[PATH_MAX], best[PATH_MAX + 300], keyp[PATH_MAX];
	snprintf(dir, sizeof dir, "%.4000s/audit/checkpoints", state);
	snprintf(keyp, sizeof keyp, "%.4000s/keys/audit.pub", state);
	DIR *d = opendir(dir);
	struct tg_error err;
	if (!d) {
		tg_err_errno(&err, "%s: cannot open", dir);
		return fail(cmd, &err);
	}
	/* The latest: the largest <size>.note. */
	uint64_t top = 0;
	bool found = false;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(e->d_name, &end, 10);
		if (errno == 0 && end != e->d_name && strcmp(end, ".note") == 0 && (!found || v > top)) {
			top = v;
			found = true;
		}
	}
	closedir(d);
	if (!found) {
		tg_err(&err, "%s: no checkpoint yet", dir);
		return fail(cmd, &err);
	}
	snprintf(best, sizeof best, "%s/%" PRIu64 ".note", dir, top);
	char origin[256];
	uint64_t size;
	merkle_hash root;
	if (cli_read_checkpoint(best, key ? key : keyp, origin, sizeof origin, &size, root, &err) < 0)
		return fail(cmd, &err);
	FILE *f = fopen(best, "re");
	char buf[NOTE_MAX_BYTES];
	size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
	if (f)
		fclose(f);
	fwrite(buf, 1, n, stdout);
	return 0;
}

/* ---- audit prove LOG --seq N [--checkpoint FILE] ---- */

int cli_audit_prove(int argc, char **argv)
{
	static const char cmd[] = "toolgate audit prove";
	const char *log = NULL, *seq_s = NULL, *cp = NULL, *key = NULL;
	for (int i = 1; i < argc; i++) {
		int m = 0;
		if (cli_is_help(argv[i])) {
			printf("%s\n", prove_usage);
			return 0;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			if ((m = cli_opt_value(argc, argv, &i, "--seq", &seq_s)) == 0 &&
			    (m = cli_opt_value(argc, argv, &i, "--checkpoint", &cp)) == 0 &&
			    (m = cli_opt_value(argc, argv, &i, "--key", &key)) == 0)
				return cli_usage_error(cmd, prove_usage, "unknown option %s", argv[i]);
			if (m < 0)
				return cli_usage_error(cmd, prove_usage, "%s needs a value", argv[i]);
			continue;
		}
		if (log)
			return cli_usage_error(cmd, prove_usage, "unexpected argument %s", argv[i]);
		log = argv[i];
	}
	char *end;
	unsigned long long seq = seq_s ? strtoull(seq_s, &end, 10) : 0;
	if (!log)
		return cli_usage_error(cmd, prove_usage, "missing LOG");
	if (!seq_s || seq_s[0] < '0' || seq_s[0] > '9' || *end || seq == 0)
		return cli_usage_error(cmd, prove_usage, "--seq needs a record number from 1");
	char keyp[PATH_MAX];
	if (!key)
		default_key(log, keyp);
	struct tg_error err;
	merkle_hash *leaves = NULL;
	uint64_t n;
	if (read_leaves(log, &leaves, &n, &err) < 0)
		return fail(cmd, &err);
	uint64_t size = n;
	merkle_hash root;
	char origin[256] = "";
	if (cp) {
		merkle_hash cp_root;
		if (cli_read_checkpoint(cp, key ? key : keyp, origin, sizeof origin, &size, cp_root, &err) < 0)
			goto failed;
		if (size > n) {
			tg_err(&err, "%s: the checkpoint commits to %" PRIu64 " records, the log has %" PRIu64
			       ": records were removed or the tail was cut", log, size, n);
			goto failed;
		}
		merkle_root(leaves, size, root);
		if (sodium_memcmp(root, cp_root, sizeof root) != 0) {
			tg_err(&err, "%s: its first %" PRIu64 " records do not hash to the checkpoint's root: "
			       "the log was rewritten after the checkpoint", log, size);
			goto failed;
		}
	} else {
		merkle_root(leaves, n, root);
	}
	if (seq > size) {
		tg_err(&err, "seq %llu: not in the tree of %" PRIu64 " records", seq, size);
		goto failed;
	}
	merkle_hash proof[MERKLE_MAX_PROOF];
	size_t plen;
	if (merkle_inclusion_proof(leaves, size, seq - 1, proof, &plen, &err) < 0 ||
	    merkle_inclusion_verify(seq - 1, size, leaves[seq - 1], proof, plen, root, &err) < 0)
		goto failed;
	char lh[64], rh[64];
	json_t *o = json_pack("{s:I, s:I, s:I, s:s, s:s, s:o, s:s?, s:s?}",
		"seq", (json_int_t)seq, "leaf_index", (json_int_t)(seq - 1), "tree_size", (json_int_t)size,
		"leaf_hash", b64(leaves[seq - 1], lh), "root", b64(root, rh),
		"inclusion_proof", hash_array(proof, plen), "checkpoint", cp, "origin", cp ? origin : NULL);
	free(leaves);
	return print_json(o);
failed:
	free(leaves);
	return fail(cmd, &err);
}

/* ---- audit consistency OLD NEW LOG ---- */

int cli_audit_consistency(int argc, char **argv)
{
	static const char cmd[] = "toolgate audit consistency";
	const char *pos[3] = { NULL, NULL, NULL }, *key = NULL;
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		int m;
		if (cli_is_help(argv[i])) {
			printf("%s\n", consistency_usage);
			return 0;
		}
		if ((m = cli_opt_value(argc, argv, &i, "--key", &key)) != 0) {
			if (m < 0)
				return cli_usage_error(cmd, consistency_usage, "--key needs a public key file");
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error(cmd, consistency_usage, "unknown option %s", argv[i]);
		if (npos == 3)
			return cli_usage_error(cmd, consistency_usage, "unexpected argument %s", argv[i]);
		pos[npos++] = argv[i];
	}
	if (npos != 3)
		return cli_usage_error(cmd, consistency_usage, "needs OLD_CHECKPOINT NEW_CHECKPOINT LOG");
	const char *log = pos[2];
	char keyp[PATH_MAX];
	if (!key)
		default_key(log, keyp);
	struct tg_error err;
	struct checkpoint a, b;
	if (cli_read_checkpoint(pos[0], key ? key : keyp, a.origin, sizeof a.origin, &a.size, a.root, &err) < 0 ||
	    cli_read_checkpoint(pos[1], key ? key : keyp, b.origin, sizeof b.origin, &b.size, b.root, &err) < 0)
		return fail(cmd, &err);
	if (strcmp(a.origin, b.origin) != 0) {
		tg_err(&err, "the checkpoints are of two logs (origins %s and %s)", a.origin, b.origin);
		return fail(cmd, &err);
	}
	if (a.size > b.size) {
		tg_err(&err, "%s commits to %" PRIu64 " records, more than %s (%" PRIu64 "): give the older first",
		       pos[0], a.size, pos[1], b.size);
		return fail(cmd, &err);
	}
	merkle_hash *leaves = NULL;
	uint64_t n;
	if (read_leaves(log, &leaves, &n, &err) < 0)
		return fail(cmd, &err);
	merkle_hash proof[MERKLE_MAX_PROOF];
	size_t plen = 0;
	if (b.size > n) {
		tg_err(&err, "%s: has %" PRIu64 " records, the newer checkpoint commits to %" PRIu64, log, n, b.size);
		goto failed;
	}
	/* The proof comes from the log; whether it holds is decided by the two
	   signed roots alone, as any third party would check it. */
	if (merkle_consistency_proof(leaves, b.size, a.size, proof, &plen, &err) < 0)
		goto failed;
	if (merkle_consistency_verify(a.size, b.size, a.root, b.root, proof, plen, &err) < 0) {
		tg_err_prefix(&err, "%s does not extend %s: the log was rewritten between them", pos[1], pos[0]);
		goto failed;
	}
	char ra[64], rb[64];
	json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:o, s:b}", "origin", a.origin,
		"old_size", (json_int_t)a.size, "new_size", (json_int_t)b.size, "old_root", b64(a.root, ra),
		"new_root", b64(b.root, rb), "consistency_proof", hash_array(proof, plen), "consistent", 1);
	free(leaves);
	return print_json(o);
failed:
	free(leaves);
	return fail(cmd, &err);
}

/* ---- audit verify --checkpoint ---- */

int cli_verify_against_checkpoint(const char *log, const char *cp, const char *key, struct tg_error *err)
{
	char origin[256];
	uint64_t size, n;
	merkle_hash cp_root, root, *leaves = NULL;
	if (cli_read_checkpoint(cp, key, origin, sizeof origin, &size, cp_root, err) < 0 ||
	    read_leaves(log, &leaves, &n, err) < 0)
		return -1;
	int rc = 0;
	if (n < size) {
		rc = tg_err(err, "seq %" PRIu64 ": missing: the checkpoint commits to %" PRIu64 " records and the log "
		            "has %" PRIu64 " (records removed or the tail cut)", n + 1, size, n);
	} else {
		merkle_root(leaves, size, root);
		if (sodium_memcmp(root, cp_root, sizeof root) != 0)
			rc = tg_err(err, "its first %" PRIu64 " records do not hash to the root of %s: the log was "
			            "rewritten after that checkpoint", size, cp);
	}
	free(leaves);
	return rc;
}
