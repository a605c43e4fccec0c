/*
 * test_audit.c: the signed, hash-chained audit log (audit.c): record shape
 * and member order, the chain across restarts, group commit and
 * durable_seq, fail-closed writes, the checks of audit_open on the tail, and
 * every way audit_verify_file must name the first bad record.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "keys.h"
#include "testlib.h"

static char tmpdir[256];

/* ------------------------------------------------------------- helpers */

static void make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_audit.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static const char *path_in(char *buf, const char *a, const char *b)
{
	if (snprintf(buf, 600, "%s/%s", a, b) >= 600) {
		fprintf(stderr, "path too long: %s/%s\n", a, b);
		exit(1);
	}
	return buf;
}

/* A fresh, not yet existing state dir under the temp dir. */
static const char *state_dir(char *buf, const char *name)
{
	return path_in(buf, tmpdir, name);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void write_all_to(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

/* Line n (1-based) of text, without newline, malloc'd; NULL if absent. */
static char *line_of(const char *text, int n)
{
	const char *p = text;
	for (int i = 1; i < n; i++) {
		p = strchr(p, '\n');
		if (!p)
			return NULL;
		p++;
	}
	if (!*p)
		return NULL;
	const char *end = strchr(p, '\n');
	size_t len = end ? (size_t)(end - p) : strlen(p);
	return strndup(p, len);
}

static int count_lines(const char *text)
{
	int n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

static void sha256_hex(const char *s, size_t len, char out[65])
{
	unsigned char d[32];
	crypto_hash_sha256(d, (const unsigned char *)s, len);
	sodium_bin2hex(out, 65, d, sizeof d);
}

static json_t *obj(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j) {
		fprintf(stderr, "bad test JSON: %s\n", text);
		exit(1);
	}
	return j;
}

static int append_text(struct audit_log *a, const char *fields, uint64_t *seq, struct tg_error *err)
{
	json_t *j = obj(fields);
	int rc = audit_append(a, j, seq, err);
	json_decref(j);
	return rc;
}

/* The member names of a line, comma separated, in order. */
static void member_names(const char *line, char *out, size_t cap)
{
	json_error_t e;
	json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &e);
	const char *key;
	json_t *v;
	out[0] = '\0';
	json_object_foreach(j, key, v) {
		if (out[0])
			strncat(out, ",", cap - strlen(out) - 1);
		strncat(out, key, cap - strlen(out) - 1);
	}
	json_decref(j);
}

/* A copy of line with its sig replaced by a fresh signature from k. */
static char *resign(const char *line, const struct ed25519_key *k)
{
	const char *cut = strstr(line, ",\"sig\":\"");
	for (const char *p = cut; p; p = strstr(p + 1, ",\"sig\":\""))
		cut = p;
	size_t prefix = (size_t)(cut - line);
	char *msg = malloc(prefix + 2);
	memcpy(msg, line, prefix);
	memcpy(msg + prefix, "}", 2);
	unsigned char sig[KEYS_SIG_BYTES];
	char b64[89];
	keys_sign(k, msg, prefix + 1, sig);
	sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(prefix + 8 + 88 + 3);
	memcpy(out, line, prefix);
	sprintf(out + prefix, ",\"sig\":\"%s\"}", b64);
	free(msg);
	return out;
}

/* ------------------------------------------------ the fixture: 5 records */

static char fixture_state[600], fixture_log[600], fixture_pub[600], fixture_key_id[17];
static char *fixture;  /* the log's text */
static size_t fixture_len;

static const char *const fixture_records[] = {
	"{\"event\":\"broker.start\",\"reason\":\"started\"}",
	"{\"event\":\"call.decision\",\"agent\":\"support-bot\",\"peer\":{\"uid\":1001,\"gid\":1001,\"pid\":77},"
	"\"user\":\"alice\",\"tool\":\"refund.issue\",\"args\":{\"order_id\":\"A-1\",\"amount_cents\":1200},"
	"\"decision\":\"permit\",\"rules\":[\"small-refunds\"],\"reason\":\"ok\"}",
	"{\"event\":\"call.decision\",\"agent\":\"support-bot\",\"peer\":{\"uid\":1001,\"gid\":1001,\"pid\":77},"
	"\"user\":\"bob\",\"tool\":\"refund.issue\",\"args\":{\"order_id\":\"B-2\",\"amount_cents\":4200},"
	"\"decision\":\"permit\",\"rules\":[\"small-refunds\"],\"reason\":\"ok\",\"call_id\":\"c-3\"}",
	"{\"event\":\"call.end\",\"tool\":\"refund.issue\",\"exit\":0,\"duration_ms\":12,"
	"\"output_sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}",
	"{\"event\":\"broker.stop\"}",
};

static void build_fixture(void)
{
	struct tg_error err;
	state_dir(fixture_state, "fixture");
	struct audit_log *a = audit_open(fixture_state, &err);
	if (!a) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		exit(1);
	}
	for (size_t i = 0; i < 5; i++) {
		uint64_t seq;
		if (append_text(a, fixture_records[i], &seq, &err) < 0) {
			fprintf(stderr, "fixture: %s\n", err.msg);
			exit(1);
		}
	}
	snprintf(fixture_key_id, sizeof fixture_key_id, "%s", audit_key_id(a));
	audit_close(a);
	path_in(fixture_log, fixture_state, "audit/audit.log");
	path_in(fixture_pub, fixture_state, "keys/audit.pub");
	fixture = read_all(fixture_log, &fixture_len);
}

/* Verify `text` as a log against the fixture's key; the error in msg. */
static int verify_text(const char *text, size_t len, uint64_t *records, char *msg)
{
	char path[600];
	struct tg_error err = {""};
	uint64_t n = 999;
	write_all_to(path_in(path, tmpdir, "variant.log"), text, len);
	int rc = audit_verify_file(path, fixture_pub, &n, &err);
	if (records)
		*records = n;
	strcpy(msg, rc == 0 ? "" : err.msg);
	return rc;
}

/* text with one line (1-based) replaced; a NULL replacement deletes it. */
static char *text_with_line(const char *text, int n, const char *replacement)
{
	char *out = malloc(strlen(text) + (replacement ? strlen(replacement) : 0) + 2);
	size_t o = 0;
	for (int i = 1;; i++) {
		char *l = line_of(text, i);
		if (!l)
			break;
		const char *use = i == n ? replacement : l;
		if (use) {
			size_t len = strlen(use);
			memcpy(out + o, use, len);
			o += len;
			out[o++] = '\n';
		}
		free(l);
	}
	out[o] = '\0';
	return out;
}

static char *fixture_with_line(int n, const char *replacement)
{
	return text_with_line(fixture, n, replacement);
}

/* Change the byte right after the first `marker` in line n to another of its kind. */
static char *fixture_flip(int n, const char *marker)
{
	char *l = line_of(fixture, n);
	char *p = strstr(l, marker);
	if (!p) {
		fprintf(stderr, "marker %s not in line %d\n", marker, n);
		exit(1);
	}
	p += strlen(marker);
	char c = *p;
	*p = c == '9' ? '0' : c == 'f' ? 'a' : c == 'z' ? 'y' : c == 'Z' ? 'Y' : c == '+' ? '/' :
	     (char)(c + 1);
	char *out = fixture_with_line(n, l);
	free(l);
	return out;
}

static int verify_flip(int n, const char *marker, char *msg)
{
	char *text = fixture_flip(n, marker);
	int rc = verify_text(text, strlen(text), NULL, msg);
	free(text);
	return rc;
}

/* ------------------------------------------------------------- records */

TEST(open_creates_state_dirs_0700_and_audit_key_0600_with_public_key_0644)
{
	char st[600], p[600];
	struct tg_error err = {""};
	struct stat s;
	snprintf(st, sizeof st, "%s/deep/er/state", tmpdir);
	struct audit_log *a = audit_open(st, &err);
	CHECK(a != NULL);
	CHECK_STREQ(err.msg, "");
	CHECK(stat(st, &s) == 0 && S_ISDIR(s.st_mode) && (s.st_mode & 07777) == 0700);
	CHECK(stat(path_in(p, st, "audit"), &s) == 0 && (s.st_mode & 07777) == 0700);
	CHECK(stat(path_in(p, st, "keys"), &s) == 0 && (s.st_mode & 07777) == 0700);
	CHECK(stat(path_in(p, st, "keys/audit.key"), &s) == 0 && (s.st_mode & 07777) == 0600);
	CHECK(stat(path_in(p, st, "keys/audit.pub"), &s) == 0 && (s.st_mode & 07777) == 0644);
	CHECK(stat(path_in(p, st, "audit/audit.log"), &s) == 0 && (s.st_mode & 07777) == 0600 &&
	      s.st_size == 0);
	CHECK(audit_last_seq(a) == 0 && audit_durable_seq(a) == 0 && !audit_pending(a));
	CHECK(a && strlen(audit_key_id(a)) == 16);
	audit_close(a);
}

TEST(first_record_has_every_member_in_fixed_order_with_nulls_and_zero_prev)
{
	char *l1 = line_of(fixture, 1), names[512];
	member_names(l1, names, sizeof names);
	CHECK_STREQ(names, "seq,time,prev,event,agent,peer,user,tool,args,decision,rules,reason,"
	                   "exit,duration_ms,output_sha256,key_id,sig");
	CHECK(strncmp(l1, "{\"seq\":1,\"time\":\"", 17) == 0);
	CHECK_CONTAINS(l1, "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\","
	                   "\"event\":\"broker.start\",\"agent\":null,\"peer\":null,\"user\":null,\"tool\":null,"
	                   "\"args\":null,\"decision\":null,\"rules\":null,\"reason\":\"started\",\"exit\":null,"
	                   "\"duration_ms\":null,\"output_sha256\":null,\"key_id\":\"");
	CHECK(strchr(l1, ' ') == NULL);  /* compact */
	free(l1);
}

TEST(time_is_rfc3339_utc_with_milliseconds_and_current)
{
	char *l1 = line_of(fixture, 1);
	const char *t = strstr(l1, "\"time\":\"") + 8;
	struct tm tm = {0};
	int ms = -1;
	CHECK(sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ\"", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) == 7);
	CHECK(t[23] == 'Z' && t[24] == '"' && t[19] == '.');
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t when = timegm(&tm);
	CHECK(ms >= 0 && ms <= 999);
	CHECK(llabs((long long)(time(NULL) - when)) < 600);
	free(l1);
}

TEST(standard_members_take_their_place_and_extras_follow_in_given_order)
{
	char st[600], names[512];
	struct tg_error err;
	uint64_t seq;
	struct audit_log *a = audit_open(state_dir(st, "extras"), &err);
	json_t *fields = obj("{\"zeta\":1,\"tool\":\"kb.search\",\"event\":\"call.start\",\"alpha\":[2],"
	                     "\"agent\":\"bot\",\"middle\":{\"x\":null}}");
	char *before = json_dumps(fields, JSON_COMPACT | JSON_PRESERVE_ORDER);
	CHECK(audit_append(a, fields, &seq, &err) == 0);
	char *after = json_dumps(fields, JSON_COMPACT | JSON_PRESERVE_ORDER);
	CHECK_STREQ(after, before);  /* fields is not modified */
	CHECK(json_object_size(fields) == 6 && fields->refcount == 1);
	audit_close(a);

	char p[600];
	size_t len;
	char *text = read_all(path_in(p, st, "audit/audit.log"), &len);
	member_names(text, names, sizeof names);
	CHECK_STREQ(names, "seq,time,prev,event,agent,peer,user,tool,args,decision,rules,reason,"
	                   "exit,duration_ms,output_sha256,zeta,alpha,middle,key_id,sig");
	CHECK_CONTAINS(text, "\"output_sha256\":null,\"zeta\":1,\"alpha\":[2],\"middle\":{\"x\":null},\"key_id\":");
	free(before);
	free(after);
	free(text);
	json_decref(fields);
}

TEST(non_ascii_text_is_escaped_so_every_line_is_7_bit)
{
	char st[600], p[600];
	struct tg_error err;
	uint64_t seq;
	size_t len;
	struct audit_log *a = audit_open(state_dir(st, "ascii"), &err);
	CHECK(append_text(a, "{\"event\":\"e\",\"user\":\"Zo\xc3\xab \xe2\x98\x83\"}", &seq, &err) == 0);
	audit_close(a);
	char *text = read_all(path_in(p, st, "audit/audit.log"), &len);
	CHECK_CONTAINS(text, "\"user\":\"Zo\\u00EB \\u2603\"");
	for (size_t i = 0; i < len; i++)
		CHECK((unsigned char)text[i] < 0x80);
	free(text);
}

TEST(caller_may_not_set_seq_time_prev_key_id_or_sig)
{
	char st[600];
	struct tg_error err;
	uint64_t seq = 0;
	struct audit_log *a = audit_open(state_dir(st, "reserved"), &err);
	CHECK(append_text(a, "{\"event\":\"e\",\"seq\":9}", &seq, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: \"seq\" is set by the audit log, not by the caller");
	CHECK(append_text(a, "{\"event\":\"e\",\"time\":\"x\"}", &seq, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: \"time\" is set by the audit log, not by the caller");
	CHECK(append_text(a, "{\"event\":\"e\",\"prev\":\"x\"}", &seq, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: \"prev\" is set by the audit log, not by the caller");
	CHECK(append_text(a, "{\"event\":\"e\",\"key_id\":\"x\"}", &seq, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: \"key_id\" is set by the audit log, not by the caller");
	CHECK(append_text(a, "{\"event\":\"e\",\"sig\":\"x\"}", &seq, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: \"sig\" is set by the audit log, not by the caller");
	CHECK(append_text(a, "{\"agent\":\"a\"}", &seq, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: \"event\" must be a non-empty string");
	CHECK(append_text(a, "{\"event\":7}", &seq, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: \"event\" must be a non-empty string");
	json_t *arr = json_array();
	CHECK(audit_append(a, arr, &seq, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: fields are not a JSON object");
	json_decref(arr);
	/* Refusals consume no seq and queue nothing. */
	CHECK(audit_last_seq(a) == 0 && !audit_pending(a));
	audit_close(a);
}

TEST(member_name_with_nul_byte_is_refused)
{
	char st[600];
	struct tg_error err;
	uint64_t seq = 0;
	struct audit_log *a = audit_open(state_dir(st, "nulname"), &err);
	json_t *f = obj("{\"event\":\"e\"}");
	json_object_setn_new(f, "a\0b", 3, json_true());
	CHECK(audit_append(a, f, &seq, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: a member name contains a NUL byte");
	CHECK(audit_last_seq(a) == 0 && !audit_pending(a));
	json_decref(f);
	audit_close(a);
}

TEST(oversized_record_is_refused_without_using_a_seq)
{
	char pubp[600];
	char st[600], p[600];
	struct tg_error err;
	uint64_t seq = 0;
	struct audit_log *a = audit_open(state_dir(st, "huge"), &err);
	size_t big = 4u * 1024 * 1024;
	char *s = malloc(big + 1);
	memset(s, 'x', big);
	s[big] = '\0';
	json_t *f = json_pack("{s:s, s:{s:s}}", "event", "e", "args", "blob", s);
	CHECK(audit_append(a, f, &seq, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: longer than 4194304 bytes");
	CHECK(append_text(a, "{\"event\":\"small\"}", &seq, &err) == 0 && seq == 1);
	audit_close(a);
	uint64_t n;
	CHECK(audit_verify_file(path_in(p, st, "audit/audit.log"), path_in(pubp, st, "keys/audit.pub"),
	                        &n, &err) == 0 && n == 1);
	json_decref(f);
	free(s);
}

TEST(sig_is_standard_base64_over_the_line_without_the_sig_member)
{
	char *l = line_of(fixture, 2);
	char *cut = strstr(l, ",\"sig\":\"");
	CHECK(cut != NULL);
	const char *b64 = cut + 8;
	CHECK(strlen(b64) == 88 + 2 && strcmp(b64 + 86, "==\"}") == 0);
	unsigned char sig[64], pk[32];
	size_t sig_len;
	struct tg_error err;
	CHECK(sodium_base642bin(sig, sizeof sig, b64, 88, NULL, &sig_len, NULL,
	                        sodium_base64_VARIANT_ORIGINAL) == 0 && sig_len == 64);
	strcpy(cut, "}");
	CHECK(keys_load_public(fixture_pub, pk, &err) == 0);
	CHECK(keys_verify(pk, l, strlen(l), sig));
	CHECK_CONTAINS(l, fixture_key_id);
	free(l);
}

TEST(prev_is_the_sha256_of_the_previous_line)
{
	for (int i = 2; i <= 5; i++) {
		char *a = line_of(fixture, i - 1), *b = line_of(fixture, i), hex[65], want[80];
		sha256_hex(a, strlen(a), hex);
		snprintf(want, sizeof want, "\"prev\":\"%s\"", hex);
		CHECK_CONTAINS(b, want);
		free(a);
		free(b);
	}
}

TEST(chain_continues_across_close_and_reopen)
{
	char pubp[600];
	char st[600], p[600], hex[65], want[80];
	struct tg_error err;
	uint64_t seq, n;
	size_t len;
	struct audit_log *a = audit_open(state_dir(st, "reopen"), &err);
	CHECK(append_text(a, "{\"event\":\"one\"}", &seq, &err) == 0 && seq == 1);
	CHECK(append_text(a, "{\"event\":\"two\"}", &seq, &err) == 0 && seq == 2);
	char id[17];
	snprintf(id, sizeof id, "%s", audit_key_id(a));
	audit_close(a);  /* syncs */

	a = audit_open(st, &err);
	CHECK(a != NULL);
	CHECK(audit_last_seq(a) == 2 && audit_durable_seq(a) == 2 && !audit_pending(a));
	CHECK_STREQ(audit_key_id(a), id);  /* the key is reused, not regenerated */
	CHECK(append_text(a, "{\"event\":\"three\"}", &seq, &err) == 0 && seq == 3);
	audit_close(a);

	char *text = read_all(path_in(p, st, "audit/audit.log"), &len);
	char *l2 = line_of(text, 2), *l3 = line_of(text, 3);
	sha256_hex(l2, strlen(l2), hex);
	snprintf(want, sizeof want, "{\"seq\":3,\"time\":");
	CHECK(strncmp(l3, want, strlen(want)) == 0);
	snprintf(want, sizeof want, "\"prev\":\"%s\"", hex);
	CHECK_CONTAINS(l3, want);
	CHECK(audit_verify_file(p, path_in(pubp, st, "keys/audit.pub"), &n, &err) == 0 && n == 3);
	free(l2);
	free(l3);
	free(text);
}

/* -------------------------------------------------------- group commit */

TEST(appends_queue_in_memory_and_one_sync_writes_them_all)
{
	char pubp[600];
	char st[600], p[600];
	struct tg_error err;
	struct stat s;
	uint64_t seq = 0, n;
	struct audit_log *a = audit_open(state_dir(st, "group"), &err);
	path_in(p, st, "audit/audit.log");
	for (int i = 0; i < 200; i++)
		CHECK(append_text(a, "{\"event\":\"call.start\",\"tool\":\"kb.search\"}", &seq, &err) == 0);
	CHECK(seq == 200);
	CHECK(audit_last_seq(a) == 200 && audit_durable_seq(a) == 0 && audit_pending(a));
	CHECK(stat(p, &s) == 0 && s.st_size == 0);  /* nothing written before the sync */

	CHECK(audit_sync(a, &err) == 0);
	CHECK(audit_last_seq(a) == 200 && audit_durable_seq(a) == 200 && !audit_pending(a));
	size_t len;
	char *text = read_all(p, &len);
	CHECK(count_lines(text) == 200 && text[len - 1] == '\n');
	CHECK(audit_verify_file(p, path_in(pubp, st, "keys/audit.pub"), &n, &err) == 0 && n == 200);
	free(text);

	/* A sync with nothing queued is a no-op that succeeds. */
	CHECK(audit_sync(a, &err) == 0 && audit_durable_seq(a) == 200);
	/* durable_seq trails last_seq until the next sync. */
	CHECK(append_text(a, "{\"event\":\"call.end\"}", &seq, &err) == 0 && seq == 201);
	CHECK(audit_durable_seq(a) == 200 && audit_pending(a));
	CHECK(audit_sync(a, &err) == 0 && audit_durable_seq(a) == 201);
	audit_close(a);
}

TEST(failed_write_keeps_records_queued_and_fails_closed)
{
	char st[600], p[600], want[900];
	struct tg_error err, sync_err, append_err, sync2_err;
	struct stat s;
	uint64_t seq = 0;
	struct audit_log *a = audit_open(state_dir(st, "efbig"), &err);
	path_in(p, st, "audit/audit.log");
	CHECK(append_text(a, "{\"event\":\"one\"}", &seq, &err) == 0);
	CHECK(append_text(a, "{\"event\":\"two\"}", &seq, &err) == 0);
	CHECK(audit_sync(a, &err) == 0);
	CHECK(stat(p, &s) == 0);
	off_t good_size = s.st_size;
	CHECK(append_text(a, "{\"event\":\"three\"}", &seq, &err) == 0 && seq == 3);

	/*
	 * A file size limit 100 bytes past the end: write() accepts part of the
	 * record, then fails with EFBIG.  Nothing is printed while the limit is
	 * on, since stdout may itself be a file.
	 */
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)good_size + 100;
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &lim);
	int sync_rc = audit_sync(a, &sync_err);
	int append_rc = append_text(a, "{\"event\":\"four\"}", &seq, &append_err);
	int sync2_rc = audit_sync(a, &sync2_err);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, old_handler);

	CHECK(sync_rc == -1);
	snprintf(want, sizeof want, "%s: write failed: File too large", p);
	CHECK_STREQ(sync_err.msg, want);
	CHECK(append_rc == -1);
	snprintf(want, sizeof want, "audit log unavailable: %s: write failed: File too large", p);
	CHECK_STREQ(append_err.msg, want);
	CHECK(sync2_rc == -1);
	CHECK_STREQ(sync2_err.msg, want);
	CHECK(audit_durable_seq(a) == 2 && audit_last_seq(a) == 3 && audit_pending(a));
	CHECK(stat(p, &s) == 0 && s.st_size == good_size + 100);  /* the partial write */

	/* Once the file can grow again, recovery cuts the partial write and
	   writes the queued record whole: nothing is lost, the chain holds. */
	struct tg_error rec_err;
	CHECK(audit_recover(a, &rec_err) == 1);
	CHECK(!audit_failed(a) && audit_durable_seq(a) == 3 && !audit_pending(a));
	CHECK(append_text(a, "{\"event\":\"four\"}", &seq, &err) == 0 && seq == 4);
	CHECK(audit_sync(a, &err) == 0);
	CHECK(audit_recover(a, &rec_err) == 0);   /* nothing to recover */
	audit_close(a);
	uint64_t n = 0;
	char pub[600];
	CHECK(audit_verify_file(p, path_in(pub, st, "keys/audit.pub"), &n, &err) == 0);
	CHECK(n == 4);
}

TEST(a_rotated_key_is_announced_by_the_old_one_and_verify_follows_the_chain)
{
	char st[600], p[600], q[600], oldpub[600], want[900];
	struct tg_error err;
	uint64_t seq = 0, n = 0;
	struct audit_log *a = audit_open(state_dir(st, "rotate"), &err);
	CHECK(a != NULL);
	if (!a)
		return;
	CHECK(append_text(a, "{\"event\":\"one\"}", &seq, &err) == 0);
	char old_id[17];
	snprintf(old_id, sizeof old_id, "%s", audit_key_id(a));
	audit_close(a);
	/* Copy the first public key aside: an auditor's trust anchor. */
	size_t klen;
	char *k = read_all(path_in(p, st, "keys/audit.pub"), &klen);
	snprintf(oldpub, sizeof oldpub, "%.580s/first.pub", st);
	write_all_to(oldpub, k, klen);
	free(k);
	CHECK(keys_generate(path_in(p, st, "keys/audit.next.key"), path_in(q, st, "keys/audit.next.pub"), &err) == 0);
	a = audit_open(st, &err);
	CHECK(a != NULL);
	if (!a)
		return;
	CHECK(strcmp(audit_key_id(a), old_id) != 0);              /* signing with the new key */
	CHECK(append_text(a, "{\"event\":\"after\"}", &seq, &err) == 0 && seq == 3);
	audit_close(a);
	size_t len;
	char *log = read_all(path_in(p, st, "audit/audit.log"), &len);
	CHECK(strstr(log, "\"event\":\"key_rotated\"") != NULL);
	free(log);
	/* The old public key is kept under its id; audit.pub is the new one. */
	snprintf(want, sizeof want, "keys/audit-%s.pub", old_id);
	struct stat sst;
	CHECK(stat(path_in(p, st, want), &sst) == 0);
	CHECK(stat(path_in(p, st, "keys/audit.next.key"), &sst) != 0);
	/* From the first key, verify follows the announcement to the new one. */
	CHECK(audit_verify_file(path_in(p, st, "audit/audit.log"), oldpub, &n, &err) == 0);
	CHECK(n == 3);
	/* The new key alone cannot verify the records before the rotation. */
	CHECK(audit_verify_file(path_in(p, st, "audit/audit.log"), path_in(q, st, "keys/audit.pub"), &n, &err) < 0);
	/* And the broker opens it again (its last line: the new key's). */
	a = audit_open(st, &err);
	CHECK(a != NULL);
	if (a)
		audit_close(a);
}

TEST(a_forged_key_announcement_does_not_verify)
{
	char st[600], p[600], q[600];
	struct tg_error err;
	uint64_t seq = 0, n = 0;
	struct audit_log *a = audit_open(state_dir(st, "forged"), &err);
	CHECK(a != NULL);
	if (!a)
		return;
	/* A record that merely says key_rotated, appended as an ordinary one,
	   is still signed by the current key: the forgery is a record whose
	   announced key does not match its new_key_id. */
	CHECK(append_text(a, "{\"event\":\"key_rotated\",\"new_key_id\":\"0000000000000000\","
	                  "\"new_public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}", &seq, &err) == 0);
	audit_close(a);
	CHECK(audit_verify_file(path_in(p, st, "audit/audit.log"), path_in(q, st, "keys/audit.pub"), &n, &err) < 0);
	CHECK_CONTAINS(err.msg, "seq 1: key_rotated: new_key_id is not the new key's id");
}

/* ------------------------------------------------------- audit_open checks */

static void copy_fixture_state(char *st, const char *name, const char *log_text, size_t len)
{
	char p[600], q[600];
	size_t klen;
	state_dir(st, name);
	mkdir(st, 0700);
	mkdir(path_in(p, st, "audit"), 0700);
	mkdir(path_in(p, st, "keys"), 0700);
	write_all_to(path_in(p, st, "audit/audit.log"), log_text, len);
	char *k = read_all(path_in(q, fixture_state, "keys/audit.key"), &klen);
	write_all_to(path_in(p, st, "keys/audit.key"), k, klen);
	chmod(p, 0600);
	free(k);
	k = read_all(fixture_pub, &klen);
	write_all_to(path_in(p, st, "keys/audit.pub"), k, klen);
	free(k);
}

TEST(open_cuts_a_torn_last_line_keeps_its_bytes_and_says_so_in_a_record)
{
	char st[600], p[600], q[600];
	struct tg_error err;
	char *text = malloc(fixture_len + 32);
	memcpy(text, fixture, fixture_len);
	memcpy(text + fixture_len, "{\"seq\":6,\"ti", 12);
	copy_fixture_state(st, "torn", text, fixture_len + 12);
	struct audit_log *a = audit_open(st, &err);
	CHECK(a != NULL);
	if (!a) {
		free(text);
		return;
	}
	/* The chain goes on from record 5: the repair is record 6. */
	CHECK(audit_last_seq(a) == 6 && audit_durable_seq(a) == 6);
	audit_close(a);
	size_t len;
	char *log = read_all(path_in(p, st, "audit/audit.log"), &len);
	CHECK(len > fixture_len && memcmp(log, fixture, fixture_len) == 0);
	char want[900];
	snprintf(want, sizeof want, "{\"seq\":6,");
	CHECK(strncmp(log + fixture_len, want, strlen(want)) == 0);
	snprintf(want, sizeof want, "\"event\":\"log_repaired\"");
	CHECK(strstr(log + fixture_len, want) != NULL);
	snprintf(want, sizeof want, "\"torn_bytes\":12,\"torn_saved\":\"%s/audit/torn-%zu.bin\"", st, fixture_len);
	CHECK(strstr(log + fixture_len, want) != NULL);
	free(log);
	/* The cut bytes are kept. */
	snprintf(q, sizeof q, "audit/torn-%zu.bin", fixture_len);
	char *kept = read_all(path_in(p, st, q), &len);
	CHECK(kept && len == 12 && memcmp(kept, "{\"seq\":6,\"ti", 12) == 0);
	free(kept);
	uint64_t n = 0;
	CHECK(audit_verify_file(path_in(p, st, "audit/audit.log"), fixture_pub, &n, &err) == 0);
	CHECK(n == 6);

	/* The first record torn: the log starts again at seq 1. */
	copy_fixture_state(st, "torn1", "{\"seq\":1,", 9);
	a = audit_open(st, &err);
	CHECK(a != NULL && audit_last_seq(a) == 1);
	if (a)
		audit_close(a);
	free(text);
}

TEST(open_refuses_a_last_line_that_does_not_verify)
{
	char st[600], p[600], want[900];
	struct tg_error err;
	char *text = fixture_flip(5, "\"event\":\"");
	copy_fixture_state(st, "badtail", text, strlen(text));
	CHECK(audit_open(st, &err) == NULL);
	snprintf(want, sizeof want, "%s: seq 5: signature does not verify",
	         path_in(p, st, "audit/audit.log"));
	CHECK_STREQ(err.msg, want);
	free(text);

	copy_fixture_state(st, "badjson", "{\"seq\":1\n", 9);
	CHECK(audit_open(st, &err) == NULL);
	snprintf(want, sizeof want, "%s: last line: not valid JSON", path_in(p, st, "audit/audit.log"));
	CHECK_STREQ(err.msg, want);
}

TEST(open_refuses_a_log_signed_by_another_key)
{
	char st[600], p[600], want[900], other[600];
	struct tg_error err;
	copy_fixture_state(st, "otherkey", fixture, fixture_len);
	path_in(p, st, "keys/audit.key");
	unlink(p);
	unlink(path_in(p, st, "keys/audit.pub"));
	/* A new key appears, as if keys/ had been wiped: the old log must not be continued. */
	struct audit_log *probe = audit_open(state_dir(other, "otherkey-probe"), &err);
	char new_id[17];
	snprintf(new_id, sizeof new_id, "%s", probe ? audit_key_id(probe) : "");
	audit_close(probe);
	size_t klen;
	char *k = read_all(path_in(p, other, "keys/audit.key"), &klen);
	write_all_to(path_in(p, st, "keys/audit.key"), k, klen);
	chmod(p, 0600);
	free(k);
	CHECK(audit_open(st, &err) == NULL);
	snprintf(want, sizeof want, "%s: seq 5: key_id %s does not match the key (%s)",
	         path_in(p, st, "audit/audit.log"), fixture_key_id, new_id);
	CHECK_STREQ(err.msg, want);
}

TEST(open_refuses_a_public_key_file_that_is_not_the_audit_keys)
{
	char st[600], p[600], q[600], want[1400], other[600];
	struct tg_error err;
	copy_fixture_state(st, "stalepub", fixture, fixture_len);
	struct audit_log *probe = audit_open(state_dir(other, "stalepub-probe"), &err);
	audit_close(probe);
	size_t len;
	char *pub = read_all(path_in(p, other, "keys/audit.pub"), &len);
	write_all_to(path_in(p, st, "keys/audit.pub"), pub, len);
	free(pub);
	CHECK(audit_open(st, &err) == NULL);
	snprintf(want, sizeof want, "%s: not the public key of %s", p, path_in(q, st, "keys/audit.key"));
	CHECK_STREQ(err.msg, want);
}

TEST(open_refuses_an_audit_key_readable_by_others)
{
	char st[600], p[600], want[900];
	struct tg_error err;
	copy_fixture_state(st, "openkey", fixture, fixture_len);
	chmod(path_in(p, st, "keys/audit.key"), 0644);
	CHECK(audit_open(st, &err) == NULL);
	snprintf(want, sizeof want, "%s: mode 0644 is too open (must not be readable by group or others)", p);
	CHECK_STREQ(err.msg, want);
}

TEST(second_open_of_the_same_state_dir_is_refused_while_the_first_is_open)
{
	char st[600], p[600], want[900];
	struct tg_error err;
	struct audit_log *a = audit_open(state_dir(st, "locked"), &err);
	CHECK(a != NULL);
	CHECK(audit_open(st, &err) == NULL);
	snprintf(want, sizeof want,
	         "%s: in use by another process (another toolgated on this state directory?)",
	         path_in(p, st, "audit/audit.log"));
	CHECK_STREQ(err.msg, want);
	audit_close(a);
	a = audit_open(st, &err);
	CHECK(a != NULL);
	audit_close(a);
}

TEST(open_refuses_a_log_that_is_a_symlink)
{
	char st[600], p[600], want[900], target[600];
	struct tg_error err;
	state_dir(st, "symlog");
	mkdir(st, 0700);
	mkdir(path_in(p, st, "audit"), 0700);
	CHECK(symlink(path_in(target, tmpdir, "elsewhere.log"), path_in(p, st, "audit/audit.log")) == 0);
	CHECK(audit_open(st, &err) == NULL);
	snprintf(want, sizeof want, "%s: cannot open: Too many levels of symbolic links", p);
	CHECK_STREQ(err.msg, want);
}

/* ----------------------------------------------------------- verification */

TEST(verify_accepts_the_untouched_log_and_counts_its_records)
{
	char msg[600];
	uint64_t n;
	CHECK(verify_text(fixture, fixture_len, &n, msg) == 0);
	CHECK_STREQ(msg, "");
	CHECK(n == 5);
	CHECK(verify_text("", 0, &n, msg) == 0 && n == 0);
}

TEST(verify_names_a_flipped_byte_in_each_kind_of_member)
{
	char msg[600], want[600];
	/* integer seq */
	CHECK(verify_flip(3, "\"seq\":", msg) == -1);
	CHECK_STREQ(msg, "seq 4: out of order (expected seq 3)");
	/* string time */
	CHECK(verify_flip(3, "\"time\":\"20", msg) == -1);
	CHECK_STREQ(msg, "seq 3: signature does not verify");
	/* hex prev */
	CHECK(verify_flip(3, "\"prev\":\"", msg) == -1);
	CHECK_STREQ(msg, "seq 3: prev does not match the hash of seq 2");
	/* strings: event, agent, user, tool, decision, reason */
	const char *strings[] = { "\"event\":\"", "\"agent\":\"", "\"user\":\"", "\"tool\":\"",
	                          "\"decision\":\"", "\"reason\":\"" };
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		CHECK(verify_flip(3, strings[i], msg) == -1);
		CHECK_STREQ(msg, "seq 3: signature does not verify");
	}
	/* numbers inside objects, arrays, extras */
	CHECK(verify_flip(3, "\"uid\":", msg) == -1);
	CHECK_STREQ(msg, "seq 3: signature does not verify");
	CHECK(verify_flip(3, "\"amount_cents\":", msg) == -1);
	CHECK_STREQ(msg, "seq 3: signature does not verify");
	CHECK(verify_flip(3, "\"rules\":[\"", msg) == -1);
	CHECK_STREQ(msg, "seq 3: signature does not verify");
	CHECK(verify_flip(3, "\"call_id\":\"", msg) == -1);
	CHECK_STREQ(msg, "seq 3: signature does not verify");
	CHECK(verify_flip(4, "\"exit\":", msg) == -1);
	CHECK_STREQ(msg, "seq 4: signature does not verify");
	CHECK(verify_flip(4, "\"output_sha256\":\"", msg) == -1);
	CHECK_STREQ(msg, "seq 4: signature does not verify");
	/* null */
	CHECK(verify_flip(3, "\"exit\":nul", msg) == -1);
	CHECK_STREQ(msg, "line 3 (expected seq 3): not valid JSON");
	/* key_id */
	char *l3 = line_of(fixture, 3);
	char flipped_id[17];
	snprintf(flipped_id, sizeof flipped_id, "%s", strstr(l3, "\"key_id\":\"") + 10);
	char c = flipped_id[0];
	flipped_id[0] = c == '9' ? '0' : c == 'f' ? 'a' : (char)(c + 1);
	CHECK(verify_flip(3, "\"key_id\":\"", msg) == -1);
	snprintf(want, sizeof want, "seq 3: key_id %s does not match the key (%s)", flipped_id,
	         fixture_key_id);
	CHECK_STREQ(msg, want);
	free(l3);
	/* sig */
	CHECK(verify_flip(3, "\"sig\":\"", msg) == -1);
	CHECK_STREQ(msg, "seq 3: signature does not verify");
	/* a member name */
	CHECK(verify_flip(3, "\"even", msg) == -1);
	CHECK_STREQ(msg, "seq 3: missing member \"event\"");
	/* structure */
	CHECK(verify_flip(3, "\"seq\":3", msg) == -1);
	CHECK_STREQ(msg, "line 3 (expected seq 3): not valid JSON");
}

TEST(verify_names_a_removed_record)
{
	char msg[600];
	uint64_t n;
	char *text = fixture_with_line(3, NULL);
	CHECK(verify_text(text, strlen(text), &n, msg) == -1);
	CHECK_STREQ(msg, "seq 4: out of order (expected seq 3)");
	CHECK(n == 2);  /* how many verified before the problem */
	free(text);

	text = fixture_with_line(1, NULL);
	CHECK(verify_text(text, strlen(text), &n, msg) == -1);
	CHECK_STREQ(msg, "seq 2: out of order (expected seq 1)");
	free(text);
}

TEST(verify_names_swapped_and_duplicated_records)
{
	char msg[600];
	char *l3 = line_of(fixture, 3), *l4 = line_of(fixture, 4);
	char *half = fixture_with_line(3, l4);
	char *swapped = text_with_line(half, 4, l3);
	CHECK(verify_text(swapped, strlen(swapped), NULL, msg) == -1);
	CHECK_STREQ(msg, "seq 4: out of order (expected seq 3)");
	free(swapped);
	free(half);

	char *dup = fixture_with_line(4, l3);
	CHECK(verify_text(dup, strlen(dup), NULL, msg) == -1);
	CHECK_STREQ(msg, "seq 3: out of order (expected seq 4)");
	free(dup);
	free(l3);
	free(l4);
}

TEST(verify_names_a_bad_prev_even_when_the_record_is_validly_signed)
{
	char msg[600], key[600];
	struct tg_error err;
	struct ed25519_key k;
	CHECK(keys_load_private(path_in(key, fixture_state, "keys/audit.key"), &k, &err) == 0);

	char *l3 = line_of(fixture, 3);
	char *p = strstr(l3, "\"prev\":\"") + 8;
	memset(p, 'a', 64);
	char *signed3 = resign(l3, &k);
	char *text = fixture_with_line(3, signed3);
	CHECK(verify_text(text, strlen(text), NULL, msg) == -1);
	CHECK_STREQ(msg, "seq 3: prev does not match the hash of seq 2");
	free(text);
	free(signed3);
	free(l3);

	char *l1 = line_of(fixture, 1);
	p = strstr(l1, "\"prev\":\"") + 8;
	p[63] = '1';
	char *signed1 = resign(l1, &k);
	text = fixture_with_line(1, signed1);
	CHECK(verify_text(text, strlen(text), NULL, msg) == -1);
	CHECK_STREQ(msg, "seq 1: prev is not 64 zeros");
	free(text);
	free(signed1);
	free(l1);
	keys_wipe(&k);
}

TEST(verify_with_the_wrong_key_names_the_key_ids)
{
	char st[600], pub[600], want[600];
	struct tg_error err;
	uint64_t n;
	struct audit_log *other = audit_open(state_dir(st, "wrongkey"), &err);
	char other_id[17];
	snprintf(other_id, sizeof other_id, "%s", audit_key_id(other));
	audit_close(other);
	CHECK(audit_verify_file(fixture_log, path_in(pub, st, "keys/audit.pub"), &n, &err) == -1);
	snprintf(want, sizeof want, "seq 1: key_id %s does not match the key (%s)", fixture_key_id, other_id);
	CHECK_STREQ(err.msg, want);
	CHECK(n == 0);
}

TEST(verify_refuses_a_record_signed_by_another_key_under_our_key_id)
{
	char st[600], key[600], msg[600];
	struct tg_error err;
	struct ed25519_key k;
	struct audit_log *other = audit_open(state_dir(st, "forger"), &err);
	audit_close(other);
	CHECK(keys_load_private(path_in(key, st, "keys/audit.key"), &k, &err) == 0);
	char *l2 = line_of(fixture, 2);
	char *forged = resign(l2, &k);
	char *text = fixture_with_line(2, forged);
	CHECK(verify_text(text, strlen(text), NULL, msg) == -1);
	CHECK_STREQ(msg, "seq 2: signature does not verify");
	free(text);
	free(forged);
	free(l2);
	keys_wipe(&k);
}

/* libsodium 1.0.18's decoder reads every byte from 0x80 up as the digit '/':
 * U+00FF (bytes c3 bf) in place of "//" in a sig decoded to the same
 * signature, so anyone could re-spell a record (and change its hash) without
 * the key, and verify still passed. */
TEST(verify_refuses_a_sig_respelled_with_bytes_above_0x7f)
{
	char msg[600], key[600];
	struct tg_error err;
	struct ed25519_key k;
	CHECK(keys_load_private(path_in(key, fixture_state, "keys/audit.key"), &k, &err) == 0);
	/* The last record with an extra member n, chosen so that its sig has
	   "//" (about one signature in fifty has). */
	char *l5 = line_of(fixture, 5), *signed5 = NULL, *slashes = NULL;
	const char *cut = strstr(l5, ",\"key_id\"");
	for (int i = 0; i < 10000 && !slashes; i++) {
		char line[1024];
		snprintf(line, sizeof line, "%.*s,\"n\":%d%s", (int)(cut - l5), l5, i, cut);
		free(signed5);
		signed5 = resign(line, &k);
		slashes = strstr(strstr(signed5, ",\"sig\":\""), "//");
	}
	CHECK(slashes != NULL);
	if (slashes) {
		char *text = fixture_with_line(5, signed5);
		CHECK(verify_text(text, strlen(text), NULL, msg) == 0);
		free(text);
		memcpy(slashes, "\xc3\xbf", 2);
		text = fixture_with_line(5, signed5);
		CHECK(verify_text(text, strlen(text), NULL, msg) == -1);
		CHECK_STREQ(msg, "seq 5: sig is not base64 of 64 bytes");
		free(text);
	}
	free(signed5);
	free(l5);
	keys_wipe(&k);
}

TEST(verify_names_a_truncated_last_line)
{
	char msg[600];
	uint64_t n;
	CHECK(verify_text(fixture, fixture_len - 1, &n, msg) == -1);  /* newline lost */
	CHECK_STREQ(msg, "seq 5: truncated (no newline at end of file)");
	CHECK(n == 4);
	CHECK(verify_text(fixture, fixture_len - 40, NULL, msg) == -1);  /* torn mid-sig */
	CHECK_STREQ(msg, "seq 5: truncated (no newline at end of file)");
}

TEST(verify_names_lines_that_are_not_records)
{
	char msg[600];
	char *text = malloc(fixture_len + 64);
	memcpy(text, fixture, fixture_len);

	memcpy(text + fixture_len, "\n", 2);
	CHECK(verify_text(text, fixture_len + 1, NULL, msg) == -1);
	CHECK_STREQ(msg, "line 6 (expected seq 6): not valid JSON");

	memcpy(text + fixture_len, "[6]\n", 5);
	CHECK(verify_text(text, fixture_len + 4, NULL, msg) == -1);
	CHECK_STREQ(msg, "line 6 (expected seq 6): not a JSON object");

	memcpy(text + fixture_len, "{\"time\":1,\"seq\":6}\n", 20);
	CHECK(verify_text(text, fixture_len + 19, NULL, msg) == -1);
	CHECK_STREQ(msg, "line 6 (expected seq 6): first member is not \"seq\"");

	memcpy(text + fixture_len, "{\"seq\":\"6\"}\n", 13);
	CHECK(verify_text(text, fixture_len + 12, NULL, msg) == -1);
	CHECK_STREQ(msg, "line 6 (expected seq 6): seq is not a positive integer");

	memcpy(text + fixture_len, "{\"seq\":6,\"time\":\"x\"}\n", 22);
	CHECK(verify_text(text, fixture_len + 21, NULL, msg) == -1);
	CHECK_STREQ(msg, "seq 6: missing member \"prev\"");
	free(text);
}

TEST(verify_rejects_duplicate_members_and_members_out_of_place)
{
	char msg[600];
	char *l3 = line_of(fixture, 3), buf[4096];

	/* A second "user" member. */
	char *p = strstr(l3, "\"tool\":");
	snprintf(buf, sizeof buf, "%.*s\"user\":\"mallory\",%s", (int)(p - l3), l3, p);
	char *text = fixture_with_line(3, buf);
	CHECK(verify_text(text, strlen(text), NULL, msg) == -1);
	CHECK_STREQ(msg, "line 3 (expected seq 3): not valid JSON");
	free(text);

	/* A member after sig. */
	size_t len = strlen(l3);
	snprintf(buf, sizeof buf, "%.*s,\"late\":1}", (int)(len - 1), l3);
	text = fixture_with_line(3, buf);
	CHECK(verify_text(text, strlen(text), NULL, msg) == -1);
	CHECK_STREQ(msg, "seq 3: member \"late\" after \"sig\"");
	free(text);

	/* A standard member moved among the extras. */
	char *l2 = line_of(fixture, 2);
	char *u = strstr(l2, "\"user\":\"alice\",");
	char *kid = strstr(l2, ",\"key_id\"");
	snprintf(buf, sizeof buf, "%.*s%.*s,\"user\":\"alice\"%s", (int)(u - l2), l2,
	         (int)(kid - (u + 15)), u + 15, kid);
	text = fixture_with_line(2, buf);
	CHECK(verify_text(text, strlen(text), NULL, msg) == -1);
	CHECK_STREQ(msg, "seq 2: member \"tool\" out of order (expected \"user\")");
	free(text);

	/* Whitespace before sig: valid JSON, but not the signed form. */
	char *s = strstr(l3, ",\"sig\":\"");
	snprintf(buf, sizeof buf, "%.*s,\"sig\": %s", (int)(s - l3), l3, s + 7);
	text = fixture_with_line(3, buf);
	CHECK(verify_text(text, strlen(text), NULL, msg) == -1);
	CHECK_STREQ(msg, "seq 3: the line does not end in ,\"sig\":\"...\"}");
	free(text);
	free(l2);
	free(l3);
}

TEST(verify_refuses_a_line_longer_than_4_mib)
{
	char msg[600];
	size_t big = 4u * 1024 * 1024 + 10;
	char *text = malloc(fixture_len + big + 2);
	memcpy(text, fixture, fixture_len);
	memset(text + fixture_len, 'x', big);
	text[fixture_len + big] = '\n';
	CHECK(verify_text(text, fixture_len + big + 1, NULL, msg) == -1);
	CHECK_STREQ(msg, "line 6 (expected seq 6): longer than 4194304 bytes");
	free(text);
}

TEST(verify_names_a_missing_log_and_a_bad_key)
{
	char p[600], want[900];
	struct tg_error err;
	uint64_t n;
	CHECK(audit_verify_file(path_in(p, tmpdir, "nope.log"), fixture_pub, &n, &err) == -1);
	CHECK_STREQ(err.msg, "cannot open: No such file or directory");
	CHECK(audit_verify_file(fixture_log, fixture_log, &n, &err) == -1);
	snprintf(want, sizeof want, "%s: not a PEM public key", fixture_log);
	CHECK_STREQ(err.msg, want);
}

int main(void)
{
	make_tmpdir();
	build_fixture();
	RUN(open_creates_state_dirs_0700_and_audit_key_0600_with_public_key_0644);
	RUN(first_record_has_every_member_in_fixed_order_with_nulls_and_zero_prev);
	RUN(time_is_rfc3339_utc_with_milliseconds_and_current);
	RUN(standard_members_take_their_place_and_extras_follow_in_given_order);
	RUN(non_ascii_text_is_escaped_so_every_line_is_7_bit);
	RUN(caller_may_not_set_seq_time_prev_key_id_or_sig);
	RUN(member_name_with_nul_byte_is_refused);
	RUN(oversized_record_is_refused_without_using_a_seq);
	RUN(sig_is_standard_base64_over_the_line_without_the_sig_member);
	RUN(prev_is_the_sha256_of_the_previous_line);
	RUN(chain_continues_across_close_and_reopen);
	RUN(appends_queue_in_memory_and_one_sync_writes_them_all);
	RUN(failed_write_keeps_records_queued_and_fails_closed);
	RUN(open_cuts_a_torn_last_line_keeps_its_bytes_and_says_so_in_a_record);
	RUN(a_rotated_key_is_announced_by_the_old_one_and_verify_follows_the_chain);
	RUN(a_forged_key_announcement_does_not_verify);
	RUN(open_refuses_a_last_line_that_does_not_verify);
	RUN(open_refuses_a_log_signed_by_another_key);
	RUN(open_refuses_a_public_key_file_that_is_not_the_audit_keys);
	RUN(open_refuses_an_audit_key_readable_by_others);
	RUN(second_open_of_the_same_state_dir_is_refused_while_the_first_is_open);
	RUN(open_refuses_a_log_that_is_a_symlink);
	RUN(verify_accepts_the_untouched_log_and_counts_its_records);
	RUN(verify_names_a_flipped_byte_in_each_kind_of_member);
	RUN(verify_names_a_removed_record);
	RUN(verify_names_swapped_and_duplicated_records);
	RUN(verify_names_a_bad_prev_even_when_the_record_is_validly_signed);
	RUN(verify_with_the_wrong_key_names_the_key_ids);
	RUN(verify_refuses_a_record_signed_by_another_key_under_our_key_id);
	RUN(verify_refuses_a_sig_respelled_with_bytes_above_0x7f);
	RUN(verify_names_a_truncated_last_line);
	RUN(verify_names_lines_that_are_not_records);
	RUN(verify_rejects_duplicate_members_and_members_out_of_place);
	RUN(verify_refuses_a_line_longer_than_4_mib);
	RUN(verify_names_a_missing_log_and_a_bad_key);
	free(fixture);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_SUMMARY();
}
