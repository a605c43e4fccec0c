/*
 * audit_verify.c: the audit record format as a verifier sees it, and the
 * offline verification of a whole log (audit_verify_file in audit.h).
 *
 * The verifier never re-serialises: it checks the exact bytes it read.  A
 * log is a directory (its segments, then audit.log: audit_files.h) or one
 * file; the chain, the seq and the chain of keys run on across segments.
 */
#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "audit_impl.h"
#include "base64.h"

const char audit_zero_hash_hex[HASH_HEX_LEN + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

const char *const audit_standard_members[N_STANDARD] = {
	"event", "agent", "peer", "user", "tool", "args", "decision", "rules",
	"reason", "exit", "duration_ms", "output_sha256",
};
const char *const audit_log_members[N_LOG] = { "seq", "time", "prev", "key_id", "sig" };

void audit_sha256_hex(const void *data, size_t len, char out[HASH_HEX_LEN + 1])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(digest, data, len);
	sodium_bin2hex(out, HASH_HEX_LEN + 1, digest, sizeof digest);
}

bool audit_is_lower_hex(const char *s, size_t len, size_t want)
{
	if (len != want)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool audit_name_in(const char *key, size_t key_len, const char *const *names, size_t n)
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
		if (audit_name_in(key, key_len, audit_standard_members, N_STANDARD) ||
		    audit_name_in(key, key_len, audit_log_members, N_LOG))
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
int audit_check_record(char *line, size_t len, const struct record_expect *x,
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
	    !audit_is_lower_hex(json_string_value(prev), json_string_length(prev), HASH_HEX_LEN)) {
		tg_err(err, "seq %llu: prev is not 64 hex digits", s);
		goto out;
	}
	if (!json_is_string(event) || json_string_length(event) == 0) {
		tg_err(err, "seq %llu: event is not a non-empty string", s);
		goto out;
	}
	if (!json_is_string(key_id) ||
	    !audit_is_lower_hex(json_string_value(key_id), json_string_length(key_id), 16)) {
		tg_err(err, "seq %llu: key_id is not 16 hex digits", s);
		goto out;
	}
	if (!json_is_string(sigv) ||
	    base64_decode(sig, sizeof sig, json_string_value(sigv), json_string_length(sigv),
	                  &sig_len) < 0 ||
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
		    base64_decode(x->next->pk, sizeof x->next->pk, json_string_value(npk),
		                  json_string_length(npk), &n) < 0 || n != KEYS_PUBLIC_BYTES) {
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


/* ------------------------------------------------------------ a whole log */

/* A segment's name promises its range: hold it to that when it ends. */
static int check_segment_end(const struct audit_file *f, uint64_t count, struct tg_error *err)
{
	if (f && f->last && count != f->last)
		return tg_err(err, "%s: ends at seq %llu, its name says seq %llu", f->name,
		              (unsigned long long)count, (unsigned long long)f->last);
	return 0;
}

/*
 * audit_verify_file errors name records ("seq 17: ...") or lines, and, in a
 * log of several files, the file; not the path given: the caller knows it
 * and prefixes it.
 */
int audit_verify_file(const char *log_path, const char *pub_path, uint64_t *records,
                      struct tg_error *err)
{
	unsigned char pk[KEYS_PUBLIC_BYTES];
	char key_id[17], prev_hex[HASH_HEX_LEN + 1], label[160];
	uint64_t count = 0;
	const struct audit_file *prev_file = NULL;
	bool check_prev = true;
	int rc = -1;

	*records = 0;
	if (keys_load_public(pub_path, pk, err) < 0)
		return -1;
	keys_key_id(pk, key_id);
	memcpy(prev_hex, audit_zero_hash_hex, sizeof prev_hex);

	struct stat st;
	if (stat(log_path, &st) < 0)
		return tg_err_errno(err, "cannot open");
	struct audit_lines *l = audit_lines_open(log_path, err);
	if (!l)
		return -1;
	const struct audit_files *files = audit_lines_files(l);
	bool named = files->n > 1 || files->is_dir;
	if (files->n == 0) {
		tg_err(err, "no audit.log and no segments audit-<first>-<last>.log here");
		goto out;
	}
	if (files->v[0].first > 1) {
		if (files->is_dir) {
			tg_err(err, "%s: the log begins at seq %llu: records 1 to %llu are missing",
			       files->v[0].name, (unsigned long long)files->v[0].first,
			       (unsigned long long)files->v[0].first - 1);
			goto out;
		}
		/* One segment on its own: its records from its first seq on; the
		   link to the segment before is checked when the directory is. */
		count = files->v[0].first - 1;
		check_prev = false;
	}
	for (;;) {
		char *line;
		size_t len;
		bool complete, first_of_file;
		unsigned long long expect = (unsigned long long)count + 1;
		int got = audit_lines_next(l, &line, &len, &complete, err);
		if (got < 0 && errno == EMSGSIZE && !named)
			tg_err(err, "line %llu (expected seq %llu): longer than %u bytes",
			       expect - (files->v[0].first ? files->v[0].first - 1 : 0), expect, AUDIT_LINE_MAX);
		if (got < 0)
			goto out;
		if (got == 0)
			break;
		const struct audit_file *f = audit_lines_file(l, &first_of_file);
		if (first_of_file && f != prev_file) {
			if (check_segment_end(prev_file, count, err) < 0)
				goto out;
			if (f->first && f->first != expect) {
				tg_err(err, "%s: begins at seq %llu, but seq %llu comes next%s", f->name,
				       (unsigned long long)f->first, expect,
				       f->first > expect ? " (records are missing)" : "");
				goto out;
			}
			prev_file = f;
		}
		if (!complete) {
			tg_err(err, "seq %llu: truncated (no newline at end of file)", expect);
			goto fail_named;
		}
		snprintf(label, sizeof label, "line %llu (expected seq %llu)",
		         expect - (files->v[0].first ? files->v[0].first - 1 : 0), expect);
		if (named)
			snprintf(label, sizeof label, "seq %llu", expect);
		struct key_switch next = { .found = false };
		struct record_expect x = {
			.next = &next, .label = label, .seq = count + 1,
			.prev_hex = check_prev ? prev_hex : NULL, .pk = pk, .key_id = key_id,
		};
		uint64_t seq;
		if (audit_check_record(line, len, &x, &seq, err) < 0)
			goto fail_named;
		if (next.found) {
			/* The records after it are signed by the announced key. */
			memcpy(pk, next.pk, sizeof pk);
			memcpy(key_id, next.key_id, sizeof key_id);
		}
		audit_sha256_hex(line, len, prev_hex);
		check_prev = true;
		count++;
	}
	if (check_segment_end(prev_file, count, err) < 0)
		goto out;
	rc = 0;
	goto out;
fail_named:
	if (named)
		tg_err_prefix(err, "%s", prev_file->name);
out:
	/* On failure too: how many records verified before the first problem. */
	*records = count - (files->n && !files->is_dir && files->v[0].first ? files->v[0].first - 1 : 0);
	audit_lines_close(l);
	return rc;
}
