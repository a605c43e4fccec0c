/*
 * audit.c: the signed, hash-chained audit log (format and API in audit.h).
 *
 * This file owns STATE_DIR/audit/audit.log and the audit key in
 * STATE_DIR/keys/.  Writing: audit_append() builds one record with jansson,
 * signs it and queues the line; audit_sync() writes the queue and
 * fdatasync()s once (group commit).  Reading: audit_open() reads only the
 * last line back, to continue the sequence and the chain.  Verification is
 * audit_verify.c's, reading through audit_files.h.
 *
 * Segments: once audit.log has grown past the segment size, the sync that
 * took it there renames it audit-<first>-<last>.log and starts a new
 * audit.log; the seq, the chain and the Merkle tree run on.  The compact
 * range at that boundary is kept in audit/tree.json, so that a restart
 * hashes only the live file, and closed segments may be archived elsewhere.
 *
 * Serialisation is json_dumps with JSON_COMPACT | JSON_ENSURE_ASCII |
 * JSON_PRESERVE_ORDER: no spaces, members in insertion order, and every line
 * pure 7-bit ASCII, so shell tools, terminals and `openssl pkeyutl -rawin`
 * all see the same bytes whatever the locale.  The signed message is the
 * serialised object without sig (which ends in "}"); the line is that with
 * its final "}" replaced by `,"sig":"<base64>"}`.  The verifier never
 * re-serialises: it checks the exact bytes it read.
 *
 * The log is written by one owner (the broker's main loop); the functions
 * here are not thread-safe, and a second process opening the same state
 * directory is refused through flock() on the audit directory.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_impl.h"
#include "keys.h"
#include "merkle.h"
#include "note.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)

struct audit_log {
	int fd;                          /* audit.log, O_APPEND; -1 after a failed rotation */
	int dir_fd;                      /* audit/, flock()ed for our lifetime */
	char path[PATH_MAX];             /* .../audit/audit.log */
	char audit_dir[PATH_MAX];
	uint64_t file_first;             /* seq of audit.log's first record (or the next) */
	uint64_t segment_bytes;          /* rotate past this size; 0: never */
	struct ed25519_key key;
	uint64_t last_seq;               /* last seq appended (queued or on disk) */
	uint64_t durable_seq;            /* last seq on disk after fdatasync */
	char prev_hex[HASH_HEX_LEN + 1]; /* SHA-256 of the last appended line */
	char file_first_prev[HASH_HEX_LEN + 1]; /* prev of audit.log's first record */
	/*
	 * Signed lines (each with its newline) for seqs durable_seq+1 ..
	 * last_seq.  queue_written says how many of their bytes write() has
	 * accepted (audit_write puts outcomes in the file before their sync).
	 * After a failed sync they stay here: the recovery of a later version
	 * needs both, so a failure never loses a record.
	 */
	char *queue;
	size_t queue_len, queue_cap, queue_written;
	bool urgent;                     /* a queued record must be durable soon (not an outcome) */
	bool failed;
	char failure[TG_ERROR_MAX];      /* why, for every later refusal */
	char rotate_error[TG_ERROR_MAX]; /* why the last rotation did not happen */
	off_t durable_size;              /* the file's length after the last good sync */
	/* A torn last line found at open (see recover_tail), for the record
	   audit_open writes about it. */
	size_t torn_bytes;
	char torn_saved[PATH_MAX];       /* where its bytes were kept */
	/* The RFC 6962 tree over the durable records (merkle.h): its compact
	   range, and the last checkpoint written. */
	struct merkle_compact tree;
	char keys_dir[PATH_MAX];
	char checkpoint_dir[PATH_MAX];
	uint64_t checkpoint_size, checkpoint_ms;
	uint64_t checkpoint_retry_ms;  /* after a failed checkpoint, none before this */
};

/* ---------------------------------------------------------------- helpers */

static void utc_now(char out[32])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	unsigned ms = (unsigned)(ts.tv_nsec / 1000000) % 1000u;
	snprintf(out + n, 32 - n, ".%03uZ", ms);
}

static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = pread(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;  /* the file shrank under us */
			return -1;
		}
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read the line that ends at offset `end` (exclusive: the byte at `end` is
 * its newline, or end of file), scanning backwards from `end` so that only
 * the tail of a large log is read.  *line is malloc'd and NUL-terminated.
 */
static int read_line_before(int fd, const char *path, off_t end, char **line, size_t *len,
                            struct tg_error *err)
{
	char chunk[8192];
	off_t pos = end, start = 0;

	while (pos > 0) {
		size_t n = pos < (off_t)sizeof chunk ? (size_t)pos : sizeof chunk;
		if (pread_full(fd, chunk, n, pos - (off_t)n) < 0)
			return tg_err_errno(err, "%s: read failed", path);
		char *nl = memrchr(chunk, '\n', n);
		if (nl) {
			start = pos - (off_t)n + (nl - chunk) + 1;
			break;
		}
		pos -= (off_t)n;
		if (end - pos > (off_t)AUDIT_LINE_MAX)
			return tg_err(err, "%s: last line is longer than %u bytes", path, AUDIT_LINE_MAX);
	}
	if (end - start > (off_t)AUDIT_LINE_MAX)
		return tg_err(err, "%s: last line is longer than %u bytes", path, AUDIT_LINE_MAX);
	*len = (size_t)(end - start);
	*line = malloc(*len + 1);
	if (!*line)
		return tg_err(err, "%s: out of memory", path);
	if (pread_full(fd, *line, *len, start) < 0) {
		free(*line);
		*line = NULL;
		return tg_err_errno(err, "%s: read failed", path);
	}
	(*line)[*len] = '\0';
	return 0;
}

/* Copy the torn bytes [from, to) of the log to audit/torn-<offset>.bin (0600). */
static int save_torn(struct audit_log *a, int fd, off_t from, off_t to, struct tg_error *err)
{
	size_t n = (size_t)(to - from);
	if (n > AUDIT_LINE_MAX + 1)
		n = AUDIT_LINE_MAX + 1;
	char *buf = malloc(n ? n : 1);
	if (!buf)
		return tg_err(err, "%s: out of memory", a->path);
	if (pread_full(fd, buf, n, from) < 0) {
		free(buf);
		return tg_err_errno(err, "%s: read failed", a->path);
	}
	const char *slash = strrchr(a->path, '/');
	int dl = slash ? (int)(slash - a->path) : 0;
	snprintf(a->torn_saved, sizeof a->torn_saved, "%.*s/torn-%lld.bin", dl, a->path, (long long)from);
	int out = open(a->torn_saved, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc = 0;
	if (out < 0 || write(out, buf, n) != (ssize_t)n || fsync(out) < 0)
		rc = tg_err_errno(err, "%s: cannot keep the torn line", a->torn_saved);
	if (out >= 0)
		close(out);
	free(buf);
	return rc;
}

/*
 * The last line is not signed by our key: it may be the key_rotated record
 * that the previous key signed, announcing ours (the broker stopped right
 * after a rotation).  The previous key's public half is kept as
 * keys/audit-<key id>.pub.  True (and *seq) when that is so.
 */
static bool announced_us(struct audit_log *a, char *line, size_t len, uint64_t *seq)
{
	json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	const char *kid = json_string_value(json_object_get(rec, "key_id"));
	char path[PATH_MAX + 64];
	unsigned char old_pk[KEYS_PUBLIC_BYTES];
	struct tg_error ignored;
	bool ok = false;
	if (kid && audit_is_lower_hex(kid, strlen(kid), 16) &&
	    snprintf(path, sizeof path, "%s/audit-%s.pub", a->keys_dir, kid) < (int)sizeof path &&
	    keys_load_public(path, old_pk, &ignored) == 0) {
		struct key_switch next = { .found = false };
		char old_id[17];
		keys_key_id(old_pk, old_id);
		struct record_expect x = { .next = &next, .label = "last line", .pk = old_pk, .key_id = old_id };
		ok = audit_check_record(line, len, &x, seq, &ignored) == 0 && next.found &&
		     strcmp(next.key_id, a->key.key_id) == 0;
	}
	json_decref(rec);
	return ok;
}

static int continue_from_segments(struct audit_log *a, struct tg_error *err);

/*
 * Continue the sequence and the chain from the log's last line, which must
 * be complete and verify with our key.  A torn tail (a crash mid-write) is
 * kept aside and cut off (see below).
 */
static int recover_tail(struct audit_log *a, struct tg_error *err)
{
	int fd = open(a->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *line = NULL;
	size_t len = 0;
	char last;
	int rc = -1;

	if (fd < 0)
		return tg_err_errno(err, "%s: cannot open for reading", a->path);
	if (fstat(fd, &st) < 0) {
		tg_err_errno(err, "%s: fstat failed", a->path);
		goto out;
	}
	memcpy(a->prev_hex, audit_zero_hash_hex, sizeof a->prev_hex);
	a->last_seq = 0;
	if (st.st_size == 0) {
		rc = continue_from_segments(a, err);
		goto out;
	}
	if (pread_full(fd, &last, 1, st.st_size - 1) < 0) {
		tg_err_errno(err, "%s: read failed", a->path);
		goto out;
	}
	struct record_expect x = { .label = "last line", .pk = a->key.pk, .key_id = a->key.key_id };
	uint64_t seq = 0;
	if (last != '\n') {
		off_t torn_start;
		if (read_line_before(fd, a->path, st.st_size, &line, &len, err) < 0)
			goto out;
		torn_start = st.st_size - (off_t)len;
		free(line);
		line = NULL;
		if (torn_start > 0) {
			x.label = "last complete line";
			if (read_line_before(fd, a->path, torn_start - 1, &line, &len, err) < 0)
				goto out;
			if (audit_check_record(line, len, &x, &seq, err) < 0) {
				tg_err_prefix(err, "%s", a->path);
				goto out;
			}
		}
		/* A record reaches the file in one write and is acknowledged only
		   after that write's fdatasync, so a line without its newline was
		   never acknowledged: a crash cut it.  Keep its bytes aside for
		   whoever investigates, cut it off, and go on from the last
		   complete record (audit_open then writes a record saying so). */
		if (save_torn(a, fd, torn_start, st.st_size, err) < 0 ||
		    ftruncate(a->fd, torn_start) < 0) {
			tg_err_prefix(err, "%s: seq %llu: truncated (no newline at end of file), and it "
			              "could not be repaired", a->path, (unsigned long long)seq + 1);
			goto out;
		}
		a->torn_bytes = (size_t)(st.st_size - torn_start);
		if (seq > 0) {
			a->last_seq = seq;
			audit_sha256_hex(line, len, a->prev_hex);
		}
		a->durable_size = torn_start;
		rc = 0;
		goto out;
	}
	if (read_line_before(fd, a->path, st.st_size - 1, &line, &len, err) < 0)
		goto out;
	if (audit_check_record(line, len, &x, &seq, err) < 0 && !announced_us(a, line, len, &seq)) {
		tg_err_prefix(err, "%s", a->path);
		goto out;
	}
	a->last_seq = seq;
	audit_sha256_hex(line, len, a->prev_hex);
	a->durable_size = st.st_size;
	rc = 0;
out:
	free(line);
	close(fd);
	return rc;
}

/* The last line of a closed segment, which must verify with our key (or
   announce it) and be the seq its name says. */
static int segment_tail(struct audit_log *a, const struct audit_file *f, struct tg_error *err)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *line = NULL, last = 0;
	size_t len = 0;
	uint64_t seq = 0;
	int rc = -1;
	if (fd < 0 || fstat(fd, &st) < 0) {
		tg_err_errno(err, "%s: cannot open", f->path);
		goto out;
	}
	if (st.st_size == 0 || pread_full(fd, &last, 1, st.st_size - 1) < 0 || last != '\n') {
		tg_err(err, "%s: a closed segment must end in a complete record", f->path);
		goto out;
	}
	if (read_line_before(fd, f->path, st.st_size - 1, &line, &len, err) < 0)
		goto out;
	struct record_expect x = { .label = "last line", .pk = a->key.pk, .key_id = a->key.key_id };
	if (audit_check_record(line, len, &x, &seq, err) < 0 && !announced_us(a, line, len, &seq)) {
		tg_err_prefix(err, "%s", f->path);
		goto out;
	}
	if (seq != f->last) {
		tg_err(err, "%s: its last record is seq %llu, its name says seq %llu", f->path,
		       (unsigned long long)seq, (unsigned long long)f->last);
		goto out;
	}
	a->last_seq = seq;
	audit_sha256_hex(line, len, a->prev_hex);
	rc = 0;
out:
	free(line);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* audit.log is empty: the first start, or a rotation that had just begun a
   new one.  The chain goes on from the last line of the last segment. */
static int continue_from_segments(struct audit_log *a, struct tg_error *err)
{
	struct audit_files files;
	if (audit_files_list(a->audit_dir, &files, err) < 0)
		return -1;
	const struct audit_file *last = NULL;
	for (size_t i = 0; i < files.n; i++)
		if (files.v[i].first)
			last = &files.v[i];
	int rc = last ? segment_tail(a, last, err) : 0;
	audit_files_free(&files);
	return rc;
}

/* The first seq of audit.log (and the prev it names), for the segment's
   name when it is closed and to check audit/tree.json against. */
static int find_file_first(struct audit_log *a, struct tg_error *err)
{
	a->file_first = a->last_seq + 1;
	memcpy(a->file_first_prev, a->prev_hex, sizeof a->file_first_prev);
	if (a->durable_size == 0)
		return 0;
	struct audit_lines *l = audit_lines_open(a->path, err);
	char *line;
	size_t len;
	bool complete;
	int rc = -1;
	if (!l)
		return -1;
	if (audit_lines_next(l, &line, &len, &complete, err) == 1) {
		json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
		json_t *seq = json_object_get(rec, "seq"), *prev = json_object_get(rec, "prev");
		if (json_is_integer(seq) && json_integer_value(seq) >= 1 && json_is_string(prev) &&
		    json_string_length(prev) == HASH_HEX_LEN) {
			a->file_first = (uint64_t)json_integer_value(seq);
			memcpy(a->file_first_prev, json_string_value(prev), sizeof a->file_first_prev);
			rc = 0;
		} else {
			tg_err(err, "%s: the first line is not an audit record", a->path);
		}
		json_decref(rec);
	} else {
		tg_err_prefix(err, "%s: reading the first record", a->path);
	}
	audit_lines_close(l);
	return rc;
}

/*
 * audit/tree.json: the compact range of the tree at the last segment
 * boundary, {"size": N, "last": "<hash of line N>", "nodes": [...]}, so that
 * a restart hashes only audit.log.  It is the broker's own state (like its
 * key, it is not what auditors check: they rebuild the tree from the lines).
 */
static int save_tree_state(struct audit_log *a, struct tg_error *err)
{
	json_t *nodes = json_array();
	for (unsigned i = 0; nodes && i < a->tree.n; i++) {
		char hex[2 * MERKLE_HASH_BYTES + 1];
		sodium_bin2hex(hex, sizeof hex, a->tree.nodes[i], MERKLE_HASH_BYTES);
		json_array_append_new(nodes, json_string(hex));
	}
	json_t *doc = nodes ? json_pack("{s:I, s:s, s:o}", "size", (json_int_t)a->tree.size,
	                                "last", a->prev_hex, "nodes", nodes) : NULL;
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return tg_err(err, "%s/tree.json: out of memory", a->audit_dir);
	char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
	snprintf(tmp, sizeof tmp, "%s/.tree.json.tmp", a->audit_dir);
	snprintf(path, sizeof path, "%s/tree.json", a->audit_dir);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t len = strlen(text);
	int rc = 0;
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 || rename(tmp, path) < 0)
		rc = tg_err_errno(err, "%s: cannot write", path);
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(text);
	return rc;
}

/* The kept range, when it is exactly the boundary before audit.log. */
static bool load_tree_state(struct audit_log *a)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/tree.json", a->audit_dir);
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	json_t *size = json_object_get(doc, "size"), *last = json_object_get(doc, "last");
	json_t *nodes = json_object_get(doc, "nodes");
	bool ok = json_is_integer(size) && json_is_string(last) && json_is_array(nodes) &&
	          (uint64_t)json_integer_value(size) == a->file_first - 1 &&
	          strcmp(json_string_value(last), a->file_first_prev) == 0 &&
	          json_array_size(nodes) == (size_t)__builtin_popcountll(a->file_first - 1);
	merkle_compact_init(&a->tree);
	for (size_t i = 0; ok && i < json_array_size(nodes); i++) {
		const char *hex = json_string_value(json_array_get(nodes, i));
		size_t n = 0;
		ok = hex && strlen(hex) == 2 * MERKLE_HASH_BYTES &&
		     sodium_hex2bin(a->tree.nodes[i], MERKLE_HASH_BYTES, hex, strlen(hex), NULL, &n, NULL) == 0 &&
		     n == MERKLE_HASH_BYTES;
	}
	if (ok) {
		a->tree.size = a->file_first - 1;
		a->tree.n = (unsigned)json_array_size(nodes);
	} else {
		merkle_compact_init(&a->tree);
	}
	json_decref(doc);
	return ok;
}

/* The Merkle tree of the records on disk, read once at open: from the range
   kept at the last segment boundary plus audit.log's lines, or else every
   line of every segment (about a second a million records).  From then on
   each sync appends its lines (O(log n) each). */
static int load_tree(struct audit_log *a, struct tg_error *err)
{
	bool kept = a->file_first > 1 && load_tree_state(a);
	struct audit_lines *l = audit_lines_open(kept ? a->path : a->audit_dir, err);
	if (!l)
		return -1;
	const struct audit_files *files = audit_lines_files(l);
	int rc = 0;
	if (!kept && files->n && files->v[0].first > 1)
		rc = tg_err(err, "%s: records 1 to %llu are not here (segments archived?) and "
		            "tree.json does not cover them: put the segments back to start",
		            a->audit_dir, (unsigned long long)files->v[0].first - 1);
	while (rc == 0) {
		char *line;
		size_t len;
		bool complete;
		int got = audit_lines_next(l, &line, &len, &complete, err);
		if (got < 0)
			rc = tg_err_prefix(err, "reading record %llu for the Merkle tree",
			                   (unsigned long long)a->tree.size + 1);
		if (got <= 0 || !complete)
			break;
		merkle_hash leaf;
		merkle_leaf_hash(line, len, leaf);
		merkle_compact_append(&a->tree, leaf);
	}
	audit_lines_close(l);
	if (rc == 0 && a->tree.size != a->last_seq)
		rc = tg_err(err, "%s: the segments and audit.log hold %llu records, but the last is seq %llu: "
		            "a segment is missing", a->audit_dir, (unsigned long long)a->tree.size,
		            (unsigned long long)a->last_seq);
	return rc;
}

/*
 * Key rotation.  An operator who wants a new audit key makes it with
 * `toolgate keygen --out STATE_DIR/keys/audit.next`; at its next start the
 * broker announces it in a key_rotated record that the current key signs
 * (new_key_id, new_public_key), keeps the current public key as
 * keys/audit-<key id>.pub, puts the new pair in place as audit.key and
 * audit.pub (the old private key is gone), and signs everything after with
 * the new key.  `toolgate audit verify` with the first key follows the chain
 * of announcements.  A stop between the record and the renames repeats the
 * announcement (of the same key) at the next start, then finishes.
 */
static int rotate_key(struct audit_log *a, struct tg_error *err)
{
	char next_key[PATH_MAX + 32], next_pub[PATH_MAX + 32], cur_pub[PATH_MAX + 32];
	char cur_key[PATH_MAX + 32], old_pub[PATH_MAX + 64];
	struct stat st;
	snprintf(next_key, sizeof next_key, "%s/audit.next.key", a->keys_dir);
	snprintf(next_pub, sizeof next_pub, "%s/audit.next.pub", a->keys_dir);
	snprintf(cur_key, sizeof cur_key, "%s/audit.key", a->keys_dir);
	snprintf(cur_pub, sizeof cur_pub, "%s/audit.pub", a->keys_dir);
	if (lstat(next_key, &st) != 0)
		return 0;
	struct ed25519_key next;
	if (keys_load_private(next_key, &next, err) < 0)
		return tg_err_prefix(err, "key rotation");
	char b64[sodium_base64_ENCODED_LEN(KEYS_PUBLIC_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(b64, sizeof b64, next.pk, sizeof next.pk, sodium_base64_VARIANT_ORIGINAL);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "event", "key_rotated", "reason",
		"the audit key was rotated: the records after this one are signed by new_key_id",
		"new_key_id", next.key_id, "new_public_key", b64);
	uint64_t seq;
	int rc = rec ? audit_append(a, rec, &seq, err) : tg_err(err, "out of memory");
	json_decref(rec);
	if (rc < 0 || audit_sync(a, err) < 0) {
		keys_wipe(&next);
		return -1;
	}
	snprintf(old_pub, sizeof old_pub, "%s/audit-%s.pub", a->keys_dir, a->key.key_id);
	int dfd = open(a->keys_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rename(cur_pub, old_pub) < 0 || rename(next_pub, cur_pub) < 0 ||
	    rename(next_key, cur_key) < 0 || dfd < 0 || fsync(dfd) < 0) {
		tg_err_errno(err, "key rotation: putting the new key in place in %s", a->keys_dir);
		if (dfd >= 0)
			close(dfd);
		keys_wipe(&next);
		return -1;
	}
	close(dfd);
	keys_wipe(&a->key);
	a->key = next;
	return 0;
}

/* ------------------------------------------------------------ opening */

static int make_dir(const char *path, struct tg_error *err)
{
	struct stat st;
	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return tg_err_errno(err, "%s: cannot create directory", path);
	if (stat(path, &st) < 0)
		return tg_err_errno(err, "%s: cannot stat", path);
	if (!S_ISDIR(st.st_mode))
		return tg_err(err, "%s: exists and is not a directory", path);
	return 0;
}

/* mkdir -p, creating missing components with mode 0700. */
static int make_dirs(const char *path, struct tg_error *err)
{
	char copy[PATH_MAX];
	if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
		return tg_err(err, "%s: path too long", path);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		int rc = make_dir(copy, err);
		*p = '/';
		if (rc < 0)
			return -1;
	}
	return make_dir(copy, err);
}

static int join_path(char out[PATH_MAX], const char *dir, const char *name, struct tg_error *err)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return tg_err(err, "%s/%s: path too long", dir, name);
	return 0;
}

/* Load the audit key, creating it on first start; audit.pub must match it. */
static int load_audit_key(const char *keys_dir, struct ed25519_key *key, struct tg_error *err)
{
	char key_path[PATH_MAX], pub_path[PATH_MAX];
	unsigned char pk[KEYS_PUBLIC_BYTES];
	struct stat st;

	if (join_path(key_path, keys_dir, "audit.key", err) < 0 ||
	    join_path(pub_path, keys_dir, "audit.pub", err) < 0)
		return -1;
	if (lstat(key_path, &st) < 0) {
		if (errno != ENOENT)
			return tg_err_errno(err, "%s: cannot stat", key_path);
		if (keys_generate(key_path, pub_path, err) < 0)
			return -1;
	}
	if (keys_load_private(key_path, key, err) < 0)
		return -1;
	/* Auditors verify with audit.pub: a stale one would fail every record. */
	if (lstat(pub_path, &st) == 0) {
		if (keys_load_public(pub_path, pk, err) < 0)
			goto fail;
		if (sodium_memcmp(pk, key->pk, sizeof pk) != 0) {
			tg_err(err, "%s: not the public key of %s", pub_path, key_path);
			goto fail;
		}
	} else if (errno != ENOENT) {
		tg_err_errno(err, "%s: cannot stat", pub_path);
		goto fail;
	}
	return 0;
fail:
	keys_wipe(key);
	return -1;
}

struct audit_log *audit_open(const char *state_dir, struct tg_error *err)
{
	char audit_dir[PATH_MAX], keys_dir[PATH_MAX];
	struct stat st;
	struct audit_log *a;

	if (sodium_init() < 0) {
		tg_err(err, "libsodium failed to initialise");
		return NULL;
	}
	a = calloc(1, sizeof *a);
	if (!a) {
		tg_err(err, "audit log: out of memory");
		return NULL;
	}
	a->fd = a->dir_fd = -1;
	if (make_dirs(state_dir, err) < 0 ||
	    join_path(audit_dir, state_dir, "audit", err) < 0 ||
	    join_path(keys_dir, state_dir, "keys", err) < 0 ||
	    make_dir(audit_dir, err) < 0 || make_dir(keys_dir, err) < 0 ||
	    join_path(a->path, audit_dir, "audit.log", err) < 0)
		goto fail;
	if (load_audit_key(keys_dir, &a->key, err) < 0)
		goto fail;
	snprintf(a->keys_dir, sizeof a->keys_dir, "%s", keys_dir);

	snprintf(a->audit_dir, sizeof a->audit_dir, "%s", audit_dir);
	a->segment_bytes = AUDIT_SEGMENT_BYTES_DEFAULT;

	/* Two writers would fork the chain: one broker per audit directory.
	   The lock is on the directory, which stays while segments rotate. */
	a->dir_fd = open(audit_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->dir_fd < 0) {
		tg_err_errno(err, "%s: cannot open", audit_dir);
		goto fail;
	}
	if (flock(a->dir_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			tg_err(err, "%s: in use by another process (another toolgated on this state directory?)",
			       a->path);
		else
			tg_err_errno(err, "%s: flock failed", a->path);
		goto fail;
	}
	a->fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->fd < 0) {
		tg_err_errno(err, "%s: cannot open", a->path);
		goto fail;
	}
	if (fstat(a->fd, &st) < 0) {
		tg_err_errno(err, "%s: fstat failed", a->path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		tg_err(err, "%s: not a regular file", a->path);
		goto fail;
	}
	if (recover_tail(a, err) < 0 || find_file_first(a, err) < 0 || load_tree(a, err) < 0 ||
	    join_path(a->checkpoint_dir, audit_dir, "checkpoints", err) < 0 ||
	    make_dir(a->checkpoint_dir, err) < 0)
		goto fail;
	/*
	 * What a crashed predecessor wrote may still be only in the page cache;
	 * and a newly created log's directory entry must be durable too.
	 */
	int dfd = open(audit_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0 || fdatasync(a->fd) < 0) {
		tg_err_errno(err, "%s: cannot make the log durable", a->path);
		if (dfd >= 0)
			close(dfd);
		goto fail;
	}
	close(dfd);
	a->durable_seq = a->last_seq;
	if (a->torn_bytes) {
		json_t *rec = json_pack("{s:s, s:s, s:I, s:s}", "event", "log_repaired",
			"reason", "a torn last line, never acknowledged (the broker stopped in the middle of "
			"writing it), was cut off at start; its bytes are kept in torn_saved",
			"torn_bytes", (json_int_t)a->torn_bytes, "torn_saved", a->torn_saved);
		uint64_t seq;
		int rc = rec ? audit_append(a, rec, &seq, err) : tg_err(err, "out of memory");
		json_decref(rec);
		if (rc < 0 || audit_sync(a, err) < 0)
			goto fail;
	}
	if (rotate_key(a, err) < 0)
		goto fail;
	return a;
fail:
	if (a->fd >= 0)
		close(a->fd);
	if (a->dir_fd >= 0)
		close(a->dir_fd);
	keys_wipe(&a->key);
	free(a);
	return NULL;
}

/* ------------------------------------------------------------ writing */

static int queue_line(struct audit_log *a, const char *body, size_t body_len, const char *sig_b64,
                      struct tg_error *err)
{
	/* body ends in "}"; the line is body minus that "}", the sig member, "}\n". */
	static const char sig_open[] = ",\"sig\":\"";
	size_t need = body_len - 1 + (sizeof sig_open - 1) + SIG_B64_LEN + 3;
	if (need - 1 > AUDIT_LINE_MAX)
		return tg_err(err, "audit record: longer than %u bytes", AUDIT_LINE_MAX);
	if (a->queue_len + need > a->queue_cap) {
		size_t cap = a->queue_cap ? a->queue_cap : 64 * 1024;
		while (cap < a->queue_len + need)
			cap *= 2;
		char *q = realloc(a->queue, cap);
		if (!q)
			return tg_err(err, "audit record: out of memory");
		a->queue = q;
		a->queue_cap = cap;
	}
	char *line = a->queue + a->queue_len, *p = line;
	memcpy(p, body, body_len - 1), p += body_len - 1;
	memcpy(p, sig_open, sizeof sig_open - 1), p += sizeof sig_open - 1;
	memcpy(p, sig_b64, SIG_B64_LEN), p += SIG_B64_LEN;
	memcpy(p, "\"}\n", 3), p += 3;
	a->queue_len += need;
	audit_sha256_hex(line, need - 1, a->prev_hex);
	return 0;
}

static int append(struct audit_log *a, json_t *fields, uint64_t *seq_out, struct tg_error *err)
{
	const char *key;
	size_t key_len;
	json_t *value, *rec = NULL;
	char *body = NULL, now[32];
	int rc = -1, bad = 0;

	if (a->failed)
		return tg_err(err, "audit log unavailable: %s", a->failure);
	if (!json_is_object(fields))
		return tg_err(err, "audit record: fields are not a JSON object");
	for (size_t i = 0; i < N_LOG; i++)
		if (json_object_get(fields, audit_log_members[i]))
			return tg_err(err, "audit record: \"%s\" is set by the audit log, not by the caller",
			              audit_log_members[i]);
	json_t *event = json_object_get(fields, "event");
	if (!json_is_string(event) || json_string_length(event) == 0)
		return tg_err(err, "audit record: \"event\" must be a non-empty string");
	json_object_keylen_foreach(fields, key, key_len, value) {
		if (memchr(key, '\0', key_len))
			return tg_err(err, "audit record: a member name contains a NUL byte");
	}

	uint64_t seq = a->last_seq + 1;
	utc_now(now);
	rec = json_object();
	if (!rec)
		goto oom;
	bad |= json_object_set_new(rec, "seq", json_integer((json_int_t)seq));
	bad |= json_object_set_new(rec, "time", json_string(now));
	bad |= json_object_set_new(rec, "prev", json_string(a->prev_hex));
	for (size_t i = 0; i < N_STANDARD; i++) {
		value = json_object_get(fields, audit_standard_members[i]);
		bad |= json_object_set_new(rec, audit_standard_members[i], value ? json_incref(value) : json_null());
	}
	json_object_keylen_foreach(fields, key, key_len, value) {
		if (!audit_name_in(key, key_len, audit_standard_members, N_STANDARD))
			bad |= json_object_setn(rec, key, key_len, value);
	}
	bad |= json_object_set_new(rec, "key_id", json_string(a->key.key_id));
	if (bad)
		goto oom;
	body = json_dumps(rec, DUMP_FLAGS);
	if (!body) {
		tg_err(err, "audit record: cannot be serialised as JSON");
		goto out;
	}
	size_t body_len = strlen(body);
	unsigned char sig[KEYS_SIG_BYTES];
	char sig_b64[SIG_B64_LEN + 1];
	keys_sign(&a->key, body, body_len, sig);
	sodium_bin2base64(sig_b64, sizeof sig_b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
	if (queue_line(a, body, body_len, sig_b64, err) < 0)
		goto out;
	a->last_seq = seq;
	*seq_out = seq;
	rc = 0;
	goto out;
oom:
	tg_err(err, "audit record: out of memory");
out:
	free(body);
	json_decref(rec);
	return rc;
}

int audit_append(struct audit_log *a, json_t *fields, uint64_t *seq_out, struct tg_error *err)
{
	if (append(a, fields, seq_out, err) != 0)
		return -1;
	a->urgent = true;
	return 0;
}

int audit_append_outcome(struct audit_log *a, json_t *fields, uint64_t *seq_out, struct tg_error *err)
{
	return append(a, fields, seq_out, err);
}

/*
 * Fail closed for good: after a failed write or fdatasync the kernel may
 * already have dropped the dirty pages, so a retried fdatasync could report
 * success for data that is gone.  Only a restart (and, later, recovery)
 * brings the log back.
 */
static int mark_failed(struct audit_log *a, const char *what, struct tg_error *err)
{
	struct tg_error why;
	tg_err_errno(&why, "%s: %s failed", a->path, what);
	memcpy(a->failure, why.msg, sizeof a->failure);
	a->failed = true;
	return tg_err(err, "%s", a->failure);
}

/* A new, empty audit.log in place (after the old one was renamed). */
static int start_file(struct audit_log *a, struct tg_error *err)
{
	int fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fsync(a->dir_fd) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return mark_failed(a, "starting a new segment", err);
	}
	a->fd = fd;
	a->durable_size = 0;
	a->file_first = a->last_seq + 1;
	memcpy(a->file_first_prev, a->prev_hex, sizeof a->file_first_prev);
	return 0;
}

/*
 * Close the segment: everything in it is durable (we are right after a
 * sync).  tree.json first, so that a restart at any point finds either
 * the boundary it describes or a log it ignores it for; then the rename,
 * which is the commit; then a new audit.log.  A crash after the rename
 * leaves no audit.log: the next start makes one and continues the chain
 * from the segment's last line.  If the range or the rename cannot be
 * written, audit.log just grows, and the next sync tries again.
 */
static int rotate_segment(struct audit_log *a, struct tg_error *err)
{
	char seg[PATH_MAX + 64];
	struct tg_error why;
	if (a->last_seq < a->file_first)
		return 0;
	int rc = save_tree_state(a, &why);
	if (rc == 0 && audit_segment_path(seg, sizeof seg, a->audit_dir, a->file_first, a->last_seq) < 0)
		rc = tg_err(&why, "%s: path too long", a->audit_dir);
	if (rc == 0 && rename(a->path, seg) < 0)
		rc = tg_err_errno(&why, "%s: cannot rename to %s", a->path, seg);
	if (rc < 0) {
		snprintf(a->rotate_error, sizeof a->rotate_error, "%s", why.msg);
		return 0;
	}
	a->rotate_error[0] = '\0';
	close(a->fd);
	a->fd = -1;
	return start_file(a, err);
}

/* write() the queued bytes not written yet.  0, or -1 with the log failed. */
static int write_queue(struct audit_log *a, struct tg_error *err)
{
	size_t off = a->queue_written;
	while (off < a->queue_len) {
		ssize_t n = write(a->fd, a->queue + off, a->queue_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			a->queue_written = off;
			return mark_failed(a, "write", err);
		}
		off += (size_t)n;
	}
	a->queue_written = off;
	return 0;
}

int audit_write(struct audit_log *a, struct tg_error *err)
{
	if (a->failed)
		return tg_err(err, "audit log unavailable: %s", a->failure);
	return write_queue(a, err);
}

bool audit_sync_due(const struct audit_log *a)
{
	return a->queue_len > 0 && a->urgent;
}

int audit_sync(struct audit_log *a, struct tg_error *err)
{
	if (a->failed)
		return tg_err(err, "audit log unavailable: %s", a->failure);
	if (a->queue_len == 0)
		return 0;
	if (write_queue(a, err) < 0)
		return -1;
	if (fdatasync(a->fd) < 0)
		return mark_failed(a, "fdatasync", err);
	a->durable_seq = a->last_seq;
	a->durable_size += (off_t)a->queue_len;
	for (size_t i = 0; i < a->queue_len;) {
		const char *nl = memchr(a->queue + i, '\n', a->queue_len - i);
		size_t len = (size_t)(nl - (a->queue + i));
		merkle_hash leaf;
		merkle_leaf_hash(a->queue + i, len, leaf);
		merkle_compact_append(&a->tree, leaf);
		i += len + 1;
	}
	a->queue_len = 0;
	a->queue_written = 0;
	a->urgent = false;
	if (a->segment_bytes && (uint64_t)a->durable_size >= a->segment_bytes)
		return rotate_segment(a, err);
	return 0;
}

int audit_recover(struct audit_log *a, struct tg_error *err)
{
	if (!a->failed)
		return 0;
	/* Back to the last durable state: whatever part of the failed write
	   reached the file goes, then the whole queue is written again. */
	a->failed = false;
	if (a->fd < 0) {
		/* A rotation renamed the segment but could not start audit.log. */
		if (start_file(a, err) < 0)
			return -1;
	} else if (ftruncate(a->fd, a->durable_size) < 0) {
		mark_failed(a, "ftruncate", err);
		return -1;
	}
	a->queue_written = 0;
	if (audit_sync(a, err) < 0)
		return -1;
	return 1;
}

bool audit_failed(const struct audit_log *a)
{
	return a->failed;
}

bool audit_pending(const struct audit_log *a)
{
	return a->queue_len > 0;
}

uint64_t audit_last_seq(const struct audit_log *a)
{
	return a->last_seq;
}

uint64_t audit_durable_seq(const struct audit_log *a)
{
	return a->durable_seq;
}

const char *audit_key_id(const struct audit_log *a)
{
	return a->key.key_id;
}

/* ------------------------------------------------------------ checkpoints */

bool audit_checkpoint_due(const struct audit_log *a, uint64_t now_ms, uint64_t *next_ms)
{
	if (a->tree.size == a->checkpoint_size)
		return false;
	uint64_t at = a->tree.size - a->checkpoint_size >= AUDIT_CHECKPOINT_EVERY_RECORDS ? 0 :
	              a->checkpoint_ms + AUDIT_CHECKPOINT_EVERY_MS;
	if (at < a->checkpoint_retry_ms)
		at = a->checkpoint_retry_ms;
	if (next_ms)
		*next_ms = at;
	return now_ms >= at;
}

int audit_checkpoint(struct audit_log *a, const char *origin, uint64_t now_ms, struct tg_error *err)
{
	merkle_hash root;
	char text[1024], path[PATH_MAX], tmp[PATH_MAX];
	char *note = NULL;
	int rc = -1;
	merkle_compact_root(&a->tree, root);
	if (checkpoint_format(origin, a->tree.size, root, text, sizeof text) < 0) {
		tg_err(err, "checkpoint: the origin \"%s\" does not fit", origin);
		goto out;
	}
	note = note_sign(text, origin, &a->key, err);
	if (!note) {
		tg_err_prefix(err, "checkpoint");
		goto out;
	}
	/* Written whole or not at all: a temporary file, fsync'd, renamed. */
	if (snprintf(path, sizeof path, "%s/%llu.note", a->checkpoint_dir,
	             (unsigned long long)a->tree.size) >= (int)sizeof path ||
	    snprintf(tmp, sizeof tmp, "%s/.%llu.note.tmp", a->checkpoint_dir,
	             (unsigned long long)a->tree.size) >= (int)sizeof tmp) {
		tg_err(err, "%s: path too long", a->checkpoint_dir);
		goto out;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	size_t len = strlen(note);
	if (fd < 0 || write(fd, note, len) != (ssize_t)len || fsync(fd) < 0) {
		tg_err_errno(err, "%s: cannot write", tmp);
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	int dfd = open(a->checkpoint_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rename(tmp, path) < 0 || dfd < 0 || fsync(dfd) < 0) {
		tg_err_errno(err, "%s: cannot put in place", path);
		if (dfd >= 0)
			close(dfd);
		unlink(tmp);
		goto out;
	}
	close(dfd);
	a->checkpoint_size = a->tree.size;
	a->checkpoint_ms = now_ms;
	rc = 0;
out:
	if (rc != 0)
		a->checkpoint_retry_ms = now_ms + AUDIT_CHECKPOINT_RETRY_MS;
	free(note);
	return rc;
}

const char *audit_rotation_error(const struct audit_log *a)
{
	return a->rotate_error[0] ? a->rotate_error : NULL;
}

void audit_set_segment_bytes(struct audit_log *a, uint64_t bytes)
{
	a->segment_bytes = bytes;
}

uint64_t audit_tree_size(const struct audit_log *a)
{
	return a->tree.size;
}

void audit_close(struct audit_log *a)
{
	if (!a)
		return;
	/* Nobody is left to report a failure to; it stays visible as a torn or short log. */
	(void)audit_sync(a, NULL);
	if (a->fd >= 0)
		close(a->fd);
	close(a->dir_fd);
	keys_wipe(&a->key);
	free(a->queue);
	free(a);
}
