/*
 * audit.c: the signed, hash-chained audit log (format and API in audit.h).
 *
 * This file owns STATE_DIR/audit/audit.log and the audit key in
 * STATE_DIR/keys/.  Writing: audit_append() builds one record with jansson,
 * signs it and queues the line; audit_sync() writes the queue and
 * fdatasync()s once (group commit).  Reading: audit_open() reads only the
 * last line back, to continue the sequence and the chain; audit_verify_file()
 * streams a whole log and checks every record, offline.
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
 * directory is refused through flock().
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

#include "keys.h"
#include "merkle.h"
#include "note.h"

/* Longest record line, without its newline; longer is an error both ways. */
#define AUDIT_LINE_MAX (4u * 1024 * 1024)
#define HASH_HEX_LEN 64
#define SIG_B64_LEN 88  /* 64 bytes in standard base64 with padding */
#define DUMP_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)

static const char zero_hash_hex[HASH_HEX_LEN + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* Members the caller may give, in their fixed order after seq, time, prev. */
static const char *const standard_members[] = {
	"event", "agent", "peer", "user", "tool", "args", "decision", "rules",
	"reason", "exit", "duration_ms", "output_sha256",
};
#define N_STANDARD (sizeof standard_members / sizeof standard_members[0])

/* Members only the log itself writes. */
static const char *const log_members[] = { "seq", "time", "prev", "key_id", "sig" };
#define N_LOG (sizeof log_members / sizeof log_members[0])

struct audit_log {
	int fd;                          /* O_APPEND, flock()ed for our lifetime */
	char path[PATH_MAX];
	struct ed25519_key key;
	uint64_t last_seq;               /* last seq appended (queued or on disk) */
	uint64_t durable_seq;            /* last seq on disk after fdatasync */
	char prev_hex[HASH_HEX_LEN + 1]; /* SHA-256 of the last appended line */
	/*
	 * Signed lines (each with its newline) for seqs durable_seq+1 ..
	 * last_seq.  After a failed sync they stay here, and queue_written says
	 * how many of their bytes write() had accepted: the recovery of a later
	 * version needs both, so a failure never loses a record.
	 */
	char *queue;
	size_t queue_len, queue_cap, queue_written;
	bool failed;
	char failure[TG_ERROR_MAX];      /* why, for every later refusal */
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
};

/* ---------------------------------------------------------------- helpers */

static void sha256_hex(const void *data, size_t len, char out[HASH_HEX_LEN + 1])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(digest, data, len);
	sodium_bin2hex(out, HASH_HEX_LEN + 1, digest, sizeof digest);
}

static bool is_lower_hex(const char *s, size_t len, size_t want)
{
	if (len != want)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool name_in(const char *key, size_t key_len, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == key_len && memcmp(key, names[i], key_len) == 0)
			return true;
	return false;
}

/*
 * A member name from an untrusted line, made safe and short for an error
 * message: non-printable bytes become '?', long names are cut.
 */
static const char *printable_name(const char *key, size_t key_len, char out[48])
{
	size_t n = 0;
	for (size_t i = 0; i < key_len && n < 40; i++)
		out[n++] = (key[i] >= 0x20 && key[i] < 0x7f) ? key[i] : '?';
	if (n < key_len)
		memcpy(out + n, "...", 3), n += 3;
	out[n] = '\0';
	return out;
}

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

static bool digits(const char *s, int n, int lo, int hi)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi;
}

/* RFC 3339 in UTC: YYYY-MM-DDTHH:MM:SS[.fraction]Z. */
static bool is_utc_time(const char *s, size_t len)
{
	if (len < 20 || strlen(s) != len)
		return false;
	if (!digits(s, 4, 0, 9999) || s[4] != '-' || !digits(s + 5, 2, 1, 12) || s[7] != '-' ||
	    !digits(s + 8, 2, 1, 31) || s[10] != 'T' || !digits(s + 11, 2, 0, 23) ||
	    s[13] != ':' || !digits(s + 14, 2, 0, 59) || s[16] != ':' || !digits(s + 17, 2, 0, 60))
		return false;
	size_t i = 19;
	if (s[i] == '.') {
		size_t start = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	return i + 1 == len && s[i] == 'Z';
}

/* --------------------------------------------------------- record checks */

/* What a record line is checked against. */
/* A key_rotated record: the key that signs the records after it. */
struct key_switch {
	bool found;
	unsigned char pk[KEYS_PUBLIC_BYTES];
	char key_id[17];
};

struct record_expect {
	struct key_switch *next;    /* non-NULL: filled when the record announces a new key */
	const char *label;          /* names the line until its seq is known */
	uint64_t seq;               /* 0: any (the tail check at open) */
	const char *prev_hex;       /* NULL: not checked (the tail check at open) */
	const unsigned char *pk;
	const char *key_id;
};

static bool iter_key_is(void *it, const char *name)
{
	size_t len = json_object_iter_key_len(it);
	return len == strlen(name) && memcmp(json_object_iter_key(it), name, len) == 0;
}

/* seq, time, prev, the standard members, extras, key_id, sig: nothing else. */
static int check_member_order(json_t *rec, uint64_t seq, struct tg_error *err)
{
	static const char *const head[] = {
		"seq", "time", "prev", "event", "agent", "peer", "user", "tool", "args",
		"decision", "rules", "reason", "exit", "duration_ms", "output_sha256",
	};
	const unsigned long long s = (unsigned long long)seq;
	char name[48];
	void *it = json_object_iter(rec);

	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++, it = json_object_iter_next(rec, it)) {
		if (it && iter_key_is(it, head[i]))
			continue;
		if (!it || !json_object_get(rec, head[i]))
			return tg_err(err, "seq %llu: missing member \"%s\"", s, head[i]);
		return tg_err(err, "seq %llu: member \"%s\" out of order (expected \"%s\")", s,
		              printable_name(json_object_iter_key(it), json_object_iter_key_len(it), name),
		              head[i]);
	}
	for (; it && !iter_key_is(it, "key_id"); it = json_object_iter_next(rec, it)) {
		const char *key = json_object_iter_key(it);
		size_t key_len = json_object_iter_key_len(it);
		if (name_in(key, key_len, standard_members, N_STANDARD) ||
		    name_in(key, key_len, log_members, N_LOG))
			return tg_err(err, "seq %llu: member \"%s\" out of order", s,
			              printable_name(key, key_len, name));
	}
	if (!it)
		return tg_err(err, "seq %llu: missing member \"key_id\"", s);
	it = json_object_iter_next(rec, it);
	if (!it || !iter_key_is(it, "sig")) {
		if (!it || !json_object_get(rec, "sig"))
			return tg_err(err, "seq %llu: missing member \"sig\"", s);
		return tg_err(err, "seq %llu: member \"%s\" out of order (expected \"sig\")", s,
		              printable_name(json_object_iter_key(it), json_object_iter_key_len(it), name));
	}
	it = json_object_iter_next(rec, it);
	if (it)
		return tg_err(err, "seq %llu: member \"%s\" after \"sig\"", s,
		              printable_name(json_object_iter_key(it), json_object_iter_key_len(it), name));
	return 0;
}

/*
 * Check one record line (without its newline).  The line is modified while
 * the signature is checked and restored before returning.
 */
static int check_record(char *line, size_t len, const struct record_expect *x,
                        uint64_t *seq_out, struct tg_error *err)
{
	json_error_t jerr;
	json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	unsigned char sig[KEYS_SIG_BYTES];
	size_t sig_len = 0;
	int rc = -1;

	if (!rec)
		return tg_err(err, "%s: not valid JSON", x->label);
	if (!json_is_object(rec)) {
		tg_err(err, "%s: not a JSON object", x->label);
		goto out;
	}
	void *it = json_object_iter(rec);
	if (!it || !iter_key_is(it, "seq")) {
		tg_err(err, "%s: first member is not \"seq\"", x->label);
		goto out;
	}
	json_t *seqv = json_object_iter_value(it);
	if (!json_is_integer(seqv) || json_integer_value(seqv) < 1) {
		tg_err(err, "%s: seq is not a positive integer", x->label);
		goto out;
	}
	uint64_t seq = (uint64_t)json_integer_value(seqv);
	unsigned long long s = (unsigned long long)seq;
	if (x->seq && seq != x->seq) {
		tg_err(err, "seq %llu: out of order (expected seq %llu)", s, (unsigned long long)x->seq);
		goto out;
	}
	if (check_member_order(rec, seq, err) < 0)
		goto out;

	json_t *timev = json_object_get(rec, "time"), *prev = json_object_get(rec, "prev");
	json_t *event = json_object_get(rec, "event"), *key_id = json_object_get(rec, "key_id");
	json_t *sigv = json_object_get(rec, "sig");
	if (!json_is_string(timev) || !is_utc_time(json_string_value(timev), json_string_length(timev))) {
		tg_err(err, "seq %llu: time is not an RFC 3339 UTC time", s);
		goto out;
	}
	if (!json_is_string(prev) ||
	    !is_lower_hex(json_string_value(prev), json_string_length(prev), HASH_HEX_LEN)) {
		tg_err(err, "seq %llu: prev is not 64 hex digits", s);
		goto out;
	}
	if (!json_is_string(event) || json_string_length(event) == 0) {
		tg_err(err, "seq %llu: event is not a non-empty string", s);
		goto out;
	}
	if (!json_is_string(key_id) ||
	    !is_lower_hex(json_string_value(key_id), json_string_length(key_id), 16)) {
		tg_err(err, "seq %llu: key_id is not 16 hex digits", s);
		goto out;
	}
	if (!json_is_string(sigv) ||
	    sodium_base642bin(sig, sizeof sig, json_string_value(sigv), json_string_length(sigv),
	                      NULL, &sig_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    sig_len != KEYS_SIG_BYTES) {
		tg_err(err, "seq %llu: sig is not base64 of 64 bytes", s);
		goto out;
	}
	if (strcmp(json_string_value(key_id), x->key_id) != 0) {
		tg_err(err, "seq %llu: key_id %s does not match the key (%s)", s,
		       json_string_value(key_id), x->key_id);
		goto out;
	}
	if (x->prev_hex && strcmp(json_string_value(prev), x->prev_hex) != 0) {
		if (seq == 1)
			tg_err(err, "seq 1: prev is not 64 zeros");
		else
			tg_err(err, "seq %llu: prev does not match the hash of seq %llu", s, s - 1);
		goto out;
	}

	/* The signed bytes are the line up to `,"sig":"..."`, then "}". */
	char tail[8 + SIG_B64_LEN + 2 + 1];
	int tail_len = snprintf(tail, sizeof tail, ",\"sig\":\"%s\"}", json_string_value(sigv));
	if (tail_len < 0 || (size_t)tail_len >= sizeof tail || (size_t)tail_len >= len ||
	    memcmp(line + len - (size_t)tail_len, tail, (size_t)tail_len) != 0) {
		tg_err(err, "seq %llu: the line does not end in ,\"sig\":\"...\"}", s);
		goto out;
	}
	size_t comma = len - (size_t)tail_len;
	line[comma] = '}';
	bool ok = keys_verify(x->pk, line, comma + 1, sig);
	line[comma] = ',';
	if (!ok) {
		tg_err(err, "seq %llu: signature does not verify", s);
		goto out;
	}
	/* Key rotation: a record the current key signs names the next key. */
	if (x->next && strcmp(json_string_value(event), "key_rotated") == 0) {
		json_t *npk = json_object_get(rec, "new_public_key"), *nid = json_object_get(rec, "new_key_id");
		size_t n = 0;
		x->next->found = false;
		if (!json_is_string(npk) || !json_is_string(nid) ||
		    sodium_base642bin(x->next->pk, sizeof x->next->pk, json_string_value(npk),
		                      json_string_length(npk), NULL, &n, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) != 0 || n != KEYS_PUBLIC_BYTES) {
			tg_err(err, "seq %llu: key_rotated without a new_public_key of 32 bytes in base64", s);
			goto out;
		}
		keys_key_id(x->next->pk, x->next->key_id);
		if (strcmp(x->next->key_id, json_string_value(nid)) != 0) {
			tg_err(err, "seq %llu: key_rotated: new_key_id is not the new key's id", s);
			goto out;
		}
		x->next->found = true;
	}
	*seq_out = seq;
	rc = 0;
out:
	json_decref(rec);
	return rc;
}

/* ------------------------------------------------------------ reading */

/*
 * Reads a file line by line.  Not getline(): that would grow its buffer to
 * whatever one hostile line holds; this one stops at AUDIT_LINE_MAX + 1.
 */
struct line_reader {
	int fd;
	char *buf;
	size_t cap, start, end;
	bool eof;
};

#define READER_CHUNK (64 * 1024)

/*
 * 1: a line (without its newline) in *line, *len; *complete is false for a
 * final line without newline.  0: end of file.  -1: read error (errno), or
 * a line longer than AUDIT_LINE_MAX (errno EMSGSIZE).
 */
static int reader_next(struct line_reader *r, char **line, size_t *len, bool *complete)
{
	for (;;) {
		char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
		if (nl) {
			*line = r->buf + r->start;
			*len = (size_t)(nl - *line);
			*complete = true;
			r->start = (size_t)(nl - r->buf) + 1;
			return 1;
		}
		if (r->end - r->start > AUDIT_LINE_MAX) {
			errno = EMSGSIZE;
			return -1;
		}
		if (r->eof) {
			if (r->start == r->end)
				return 0;
			*line = r->buf + r->start;
			*len = r->end - r->start;
			*complete = false;
			r->start = r->end;
			return 1;
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->end == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : READER_CHUNK;
			if (cap > AUDIT_LINE_MAX + 1)
				cap = AUDIT_LINE_MAX + 1;
			char *buf = realloc(r->buf, cap);
			if (!buf)
				return -1;
			r->buf = buf;
			r->cap = cap;
		}
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			r->eof = true;
		r->end += (size_t)n;
	}
}

/*
 * audit_verify_file errors name records ("seq 17: ...") or lines, not the
 * log's path: the caller knows the path and prefixes it.
 */
int audit_verify_file(const char *log_path, const char *pub_path, uint64_t *records,
                      struct tg_error *err)
{
	unsigned char pk[KEYS_PUBLIC_BYTES];
	char key_id[17], prev_hex[HASH_HEX_LEN + 1], label[96];
	struct line_reader r = { .fd = -1 };
	uint64_t count = 0;
	int rc = -1;

	*records = 0;
	if (keys_load_public(pub_path, pk, err) < 0)
		return -1;
	keys_key_id(pk, key_id);
	memcpy(prev_hex, zero_hash_hex, sizeof prev_hex);

	r.fd = open(log_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (r.fd < 0)
		return tg_err_errno(err, "cannot open");
	for (;;) {
		char *line;
		size_t len;
		bool complete;
		unsigned long long expect = (unsigned long long)count + 1;
		int got = reader_next(&r, &line, &len, &complete);
		if (got == 0)
			break;
		if (got < 0) {
			if (errno == EMSGSIZE)
				tg_err(err, "line %llu (expected seq %llu): longer than %u bytes", expect,
				       expect, AUDIT_LINE_MAX);
			else
				tg_err_errno(err, "line %llu (expected seq %llu): read failed", expect, expect);
			goto out;
		}
		if (!complete) {
			tg_err(err, "seq %llu: truncated (no newline at end of file)", expect);
			goto out;
		}
		/* Every accepted line is one record, so line number == expected seq. */
		snprintf(label, sizeof label, "line %llu (expected seq %llu)", expect, expect);
		struct key_switch next = { .found = false };
		struct record_expect x = {
			.next = &next, .label = label, .seq = count + 1, .prev_hex = prev_hex, .pk = pk,
			.key_id = key_id,
		};
		uint64_t seq;
		if (check_record(line, len, &x, &seq, err) < 0)
			goto out;
		if (next.found) {
			/* The records after it are signed by the announced key. */
			memcpy(pk, next.pk, sizeof pk);
			memcpy(key_id, next.key_id, sizeof key_id);
		}
		sha256_hex(line, len, prev_hex);
		count++;
	}
	rc = 0;
out:
	/* On failure too: how many records verified before the first problem. */
	*records = count;
	free(r.buf);
	close(r.fd);
	return rc;
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
	if (kid && is_lower_hex(kid, strlen(kid), 16) &&
	    snprintf(path, sizeof path, "%s/audit-%s.pub", a->keys_dir, kid) < (int)sizeof path &&
	    keys_load_public(path, old_pk, &ignored) == 0) {
		struct key_switch next = { .found = false };
		char old_id[17];
		keys_key_id(old_pk, old_id);
		struct record_expect x = { .next = &next, .label = "last line", .pk = old_pk, .key_id = old_id };
		ok = check_record(line, len, &x, seq, &ignored) == 0 && next.found &&
		     strcmp(next.key_id, a->key.key_id) == 0;
	}
	json_decref(rec);
	return ok;
}

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
	memcpy(a->prev_hex, zero_hash_hex, sizeof a->prev_hex);
	a->last_seq = 0;
	if (st.st_size == 0) {
		rc = 0;
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
			if (check_record(line, len, &x, &seq, err) < 0) {
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
			sha256_hex(line, len, a->prev_hex);
		}
		a->durable_size = torn_start;
		rc = 0;
		goto out;
	}
	if (read_line_before(fd, a->path, st.st_size - 1, &line, &len, err) < 0)
		goto out;
	if (check_record(line, len, &x, &seq, err) < 0 && !announced_us(a, line, len, &seq)) {
		tg_err_prefix(err, "%s", a->path);
		goto out;
	}
	a->last_seq = seq;
	sha256_hex(line, len, a->prev_hex);
	a->durable_size = st.st_size;
	rc = 0;
out:
	free(line);
	close(fd);
	return rc;
}

/* The Merkle tree of the records on disk: every line's leaf hash, read once
   at open (about a second for a million records); from then on each sync
   appends its lines (O(log n) each). */
static int load_tree(struct audit_log *a, struct tg_error *err)
{
	struct line_reader r = { .fd = open(a->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) };
	merkle_compact_init(&a->tree);
	if (r.fd < 0)
		return tg_err_errno(err, "%s: cannot open for reading", a->path);
	int rc = 0;
	for (;;) {
		char *line;
		size_t len;
		bool complete;
		int got = reader_next(&r, &line, &len, &complete);
		if (got == 0 || !complete)
			break;
		if (got < 0) {
			rc = tg_err_errno(err, "%s: reading record %llu for the Merkle tree", a->path,
			                  (unsigned long long)a->tree.size + 1);
			break;
		}
		merkle_hash leaf;
		merkle_leaf_hash(line, len, leaf);
		merkle_compact_append(&a->tree, leaf);
	}
	free(r.buf);
	close(r.fd);
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
	a->fd = -1;
	if (make_dirs(state_dir, err) < 0 ||
	    join_path(audit_dir, state_dir, "audit", err) < 0 ||
	    join_path(keys_dir, state_dir, "keys", err) < 0 ||
	    make_dir(audit_dir, err) < 0 || make_dir(keys_dir, err) < 0 ||
	    join_path(a->path, audit_dir, "audit.log", err) < 0)
		goto fail;
	if (load_audit_key(keys_dir, &a->key, err) < 0)
		goto fail;
	snprintf(a->keys_dir, sizeof a->keys_dir, "%s", keys_dir);

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
	/* Two writers would fork the chain. */
	if (flock(a->fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			tg_err(err, "%s: in use by another process (another toolgated on this state directory?)",
			       a->path);
		else
			tg_err_errno(err, "%s: flock failed", a->path);
		goto fail;
	}
	if (recover_tail(a, err) < 0 || load_tree(a, err) < 0 ||
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
	sha256_hex(line, need - 1, a->prev_hex);
	return 0;
}

int audit_append(struct audit_log *a, json_t *fields, uint64_t *seq_out, struct tg_error *err)
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
		if (json_object_get(fields, log_members[i]))
			return tg_err(err, "audit record: \"%s\" is set by the audit log, not by the caller",
			              log_members[i]);
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
		value = json_object_get(fields, standard_members[i]);
		bad |= json_object_set_new(rec, standard_members[i], value ? json_incref(value) : json_null());
	}
	json_object_keylen_foreach(fields, key, key_len, value) {
		if (!name_in(key, key_len, standard_members, N_STANDARD))
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

int audit_sync(struct audit_log *a, struct tg_error *err)
{
	size_t off = 0;

	if (a->failed)
		return tg_err(err, "audit log unavailable: %s", a->failure);
	if (a->queue_len == 0)
		return 0;
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
	if (fdatasync(a->fd) < 0) {
		a->queue_written = off;
		return mark_failed(a, "fdatasync", err);
	}
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
	return 0;
}

int audit_recover(struct audit_log *a, struct tg_error *err)
{
	if (!a->failed)
		return 0;
	/* Back to the last durable state: whatever part of the failed write
	   reached the file goes, then the whole queue is written again. */
	a->failed = false;
	if (ftruncate(a->fd, a->durable_size) < 0) {
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
	uint64_t at = a->checkpoint_ms + AUDIT_CHECKPOINT_EVERY_MS;
	if (next_ms)
		*next_ms = at;
	return a->tree.size - a->checkpoint_size >= AUDIT_CHECKPOINT_EVERY_RECORDS || now_ms >= at;
}

int audit_checkpoint(struct audit_log *a, const char *origin, uint64_t now_ms, struct tg_error *err)
{
	merkle_hash root;
	char text[1024], path[PATH_MAX], tmp[PATH_MAX];
	merkle_compact_root(&a->tree, root);
	if (checkpoint_format(origin, a->tree.size, root, text, sizeof text) < 0)
		return tg_err(err, "checkpoint: the origin \"%s\" does not fit", origin);
	char *note = note_sign(text, origin, &a->key, err);
	if (!note)
		return tg_err_prefix(err, "checkpoint");
	/* Written whole or not at all: a temporary file, fsync'd, renamed. */
	int rc = -1;
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
	free(note);
	return rc;
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
	close(a->fd);
	keys_wipe(&a->key);
	free(a->queue);
	free(a);
}
