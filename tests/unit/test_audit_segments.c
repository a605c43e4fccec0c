/*
 * test_audit_segments.c: audit log segments (audit.c rotation,
 * audit_files.c, audit_verify.c over a directory): audit.log closed as
 * audit-<first>-<last>.log past the segment size, the seq, chain and Merkle
 * tree running on across segments and restarts, a crash in the middle of a
 * rotation, and verify naming a missing, altered or misnamed segment.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "audit_files.h"
#include "merkle.h"
#include "testlib.h"

#include <sodium.h>

static char tmpdir[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static const char *path_in(char *buf, const char *a, const char *b)
{
	if (snprintf(buf, 700, "%s/%s", a, b) >= 700)
		abort();
	return buf;
}

/* Append n records of about 200 bytes each, one sync each. */
static int append_n(struct audit_log *a, int n)
{
	struct tg_error err;
	for (int i = 0; i < n; i++) {
		json_t *f = json_pack("{s:s, s:s, s:s}", "event", "test", "tool", "kb.search", "reason",
		                      "a record of about two hundred bytes, so that a segment of one "
		                      "kilobyte holds a handful of them");
		uint64_t seq;
		int rc = audit_append(a, f, &seq, &err);
		json_decref(f);
		if (rc < 0 || audit_sync(a, &err) < 0) {
			fprintf(stderr, "append: %s\n", err.msg);
			return -1;
		}
	}
	return 0;
}

/* The names of the segments in dir, sorted, joined by spaces. */
static void segment_names(const char *dir, char *out, size_t cap)
{
	struct audit_files f;
	struct tg_error err;
	out[0] = '\0';
	if (audit_files_list(dir, &f, &err) < 0)
		return;
	for (size_t i = 0; i < f.n; i++)
		if (f.v[i].first)
			snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? " " : "", f.v[i].name);
	audit_files_free(&f);
}

static size_t count_segments(const char *dir)
{
	struct audit_files f;
	struct tg_error err;
	size_t n = 0;
	if (audit_files_list(dir, &f, &err) < 0)
		return 0;
	for (size_t i = 0; i < f.n; i++)
		n += f.v[i].first != 0;
	audit_files_free(&f);
	return n;
}

/* A state dir with 40 records in segments of 1500 bytes (3 records), closed. */
static const char *segmented_state(char *st, const char *name)
{
	struct tg_error err;
	path_in(st, tmpdir, name);
	struct audit_log *a = audit_open(st, &err);
	if (!a) {
		fprintf(stderr, "open: %s\n", err.msg);
		return st;
	}
	audit_set_segment_bytes(a, 1500);
	append_n(a, 40);
	audit_close(a);
	return st;
}

static int verify_dir(const char *st, uint64_t *n, char *msg)
{
	char d[700], k[700];
	struct tg_error err;
	int rc = audit_verify_file(path_in(d, st, "audit"), path_in(k, st, "keys/audit.pub"), n, &err);
	snprintf(msg, 600, "%s", rc < 0 ? err.msg : "");
	return rc;
}

TEST(audit_log_is_closed_as_a_named_segment_once_it_passes_the_size)
{
	char st[700], d[700], names[4096];
	segmented_state(st, "rotate");
	path_in(d, st, "audit");
	segment_names(d, names, sizeof names);
	/* Each record is 513 bytes: the third takes a segment past 1500. */
	CHECK_CONTAINS(names, "audit-00000000000000000001-00000000000000000003.log "
	                      "audit-00000000000000000004-00000000000000000006.log");
	CHECK(count_segments(d) == 13);
	struct stat sb;
	char p[700];
	CHECK(stat(path_in(p, d, "audit.log"), &sb) == 0 && sb.st_size > 0 && sb.st_size < 1500);
	CHECK(stat(path_in(p, d, "audit-00000000000000000037-00000000000000000039.log"), &sb) == 0 &&
	      (sb.st_mode & 0777) == 0600);
}

TEST(verify_of_the_directory_follows_seq_and_chain_across_segments)
{
	char st[700], msg[600];
	uint64_t n = 0;
	segmented_state(st, "verify");
	CHECK(verify_dir(st, &n, msg) == 0);
	CHECK_STREQ(msg, "");
	CHECK(n == 40);
}

TEST(the_tree_spans_every_segment_and_survives_a_restart)
{
	char st[700], d[700], p[700];
	struct tg_error err;
	segmented_state(st, "tree");
	struct audit_log *a = audit_open(st, &err);
	CHECK(a != NULL);
	if (!a)
		return;
	/* Restarted from tree.json plus audit.log: the same size as a full rehash. */
	CHECK(audit_tree_size(a) == 40);
	audit_set_segment_bytes(a, 1500);
	CHECK(append_n(a, 5) == 0);
	CHECK(audit_tree_size(a) == 45);
	CHECK(audit_checkpoint(a, "test.example", 1, &err) == 0);
	audit_close(a);

	/* The checkpoint's root is the RFC 6962 root of every line of every segment. */
	struct audit_lines *l = audit_lines_open(path_in(d, st, "audit"), &err);
	merkle_hash leaves[64], root;
	uint64_t n = 0;
	char *line;
	size_t len;
	bool complete;
	while (l && n < 64 && audit_lines_next(l, &line, &len, &complete, &err) == 1)
		merkle_leaf_hash(line, len, leaves[n++]);
	audit_lines_close(l);
	CHECK(n == 45);
	merkle_root(leaves, n, root);
	size_t nl;
	FILE *f = fopen(path_in(p, st, "audit/checkpoints/45.note"), "r");
	char note[1024] = "";
	nl = f ? fread(note, 1, sizeof note - 1, f) : 0;
	note[nl] = '\0';
	if (f)
		fclose(f);
	char b64[64];
	sodium_bin2base64(b64, sizeof b64, root, sizeof root, sodium_base64_VARIANT_ORIGINAL);
	char want[200];
	snprintf(want, sizeof want, "test.example\n45\n%s\n", b64);
	CHECK(strncmp(note, want, strlen(want)) == 0);
}

TEST(without_tree_json_a_restart_rehashes_every_segment)
{
	char st[700], p[700];
	struct tg_error err;
	segmented_state(st, "rehash");
	CHECK(unlink(path_in(p, st, "audit/tree.json")) == 0);
	struct audit_log *a = audit_open(st, &err);
	CHECK(a != NULL);
	if (a) {
		CHECK(audit_tree_size(a) == 40);
		audit_close(a);
	}
}

TEST(archived_segments_need_tree_json_to_restart)
{
	char st[700], p[700];
	struct tg_error err;
	segmented_state(st, "archived");
	/* An operator moved the first segments away: tree.json covers them. */
	CHECK(unlink(path_in(p, st, "audit/audit-00000000000000000001-00000000000000000003.log")) == 0);
	CHECK(unlink(path_in(p, st, "audit/audit-00000000000000000004-00000000000000000006.log")) == 0);
	struct audit_log *a = audit_open(st, &err);
	CHECK(a != NULL);
	if (a) {
		CHECK(audit_tree_size(a) == 40);
		audit_close(a);
	}
	CHECK(unlink(path_in(p, st, "audit/tree.json")) == 0);
	a = audit_open(st, &err);
	CHECK(a == NULL);
	char want[1000];
	snprintf(want, sizeof want, "%s/audit: records 1 to 6 are not here (segments archived?) and "
	         "tree.json does not cover them: put the segments back to start", st);
	CHECK_STREQ(err.msg, want);
}

TEST(a_crash_after_the_rename_leaves_no_audit_log_and_the_chain_goes_on)
{
	char st[700], p[700], msg[600];
	struct tg_error err;
	segmented_state(st, "crash");
	/* Rotation renamed audit.log and died before making the new one: what
	   is left is the segments alone.  Make that state: close the live file
	   as a segment by hand, as the rename would have. */
	struct audit_files f;
	CHECK(audit_files_list(path_in(p, st, "audit"), &f, &err) == 0);
	uint64_t next = f.v[f.n - 2].last + 1;
	audit_files_free(&f);
	char seg[700];
	CHECK(audit_segment_path(seg, sizeof seg, path_in(p, st, "audit"), next, 40) == 0);
	CHECK(rename(path_in(p, st, "audit/audit.log"), seg) == 0);

	struct audit_log *a = audit_open(st, &err);
	CHECK(a != NULL);
	if (!a)
		return;
	CHECK(audit_last_seq(a) == 40);
	CHECK(audit_tree_size(a) == 40);
	CHECK(append_n(a, 2) == 0);
	audit_close(a);
	uint64_t n;
	CHECK(verify_dir(st, &n, msg) == 0);
	CHECK_STREQ(msg, "");
	CHECK(n == 42);
}

TEST(verify_names_a_missing_segment)
{
	char st[700], p[700], msg[600];
	uint64_t n;
	segmented_state(st, "missing");
	CHECK(unlink(path_in(p, st, "audit/audit-00000000000000000007-00000000000000000009.log")) == 0);
	CHECK(verify_dir(st, &n, msg) == -1);
	CHECK_STREQ(msg, "audit-00000000000000000010-00000000000000000012.log: begins at seq 10, but seq 7 "
	                 "comes next (records are missing)");
	CHECK(n == 6);
}

TEST(verify_names_the_first_segment_missing)
{
	char st[700], p[700], msg[600];
	uint64_t n;
	segmented_state(st, "first");
	CHECK(unlink(path_in(p, st, "audit/audit-00000000000000000001-00000000000000000003.log")) == 0);
	CHECK(verify_dir(st, &n, msg) == -1);
	CHECK_STREQ(msg, "audit-00000000000000000004-00000000000000000006.log: the log begins at seq 4: "
	                 "records 1 to 3 are missing");
}

TEST(verify_names_an_altered_record_and_its_segment)
{
	char st[700], p[700], msg[600];
	uint64_t n;
	segmented_state(st, "altered");
	path_in(p, st, "audit/audit-00000000000000000013-00000000000000000015.log");
	FILE *f = fopen(p, "r+");
	CHECK(f != NULL);
	if (!f)
		return;
	/* The second record's tool name: kb.search -> kb.seArch */
	char buf[4096];
	size_t len = fread(buf, 1, sizeof buf, f);
	char *second = memchr(buf, '\n', len) + 1;
	char *t = strstr(second, "kb.search");
	t[5] = 'A';
	fseek(f, 0, SEEK_SET);
	fwrite(buf, 1, len, f);
	fclose(f);
	CHECK(verify_dir(st, &n, msg) == -1);
	CHECK_STREQ(msg, "audit-00000000000000000013-00000000000000000015.log: seq 14: signature does not verify");
	CHECK(n == 13);
}

TEST(verify_names_a_segment_whose_name_lies_about_its_range)
{
	char st[700], p[700], q[700], msg[600];
	uint64_t n;
	segmented_state(st, "misnamed");
	/* Two segments joined into one file named for the first's range. */
	path_in(p, st, "audit/audit-00000000000000000004-00000000000000000006.log");
	path_in(q, st, "audit/audit-00000000000000000007-00000000000000000009.log");
	FILE *a = fopen(p, "a"), *b = fopen(q, "r");
	char buf[4096];
	size_t len = b ? fread(buf, 1, sizeof buf, b) : 0;
	if (a)
		fwrite(buf, 1, len, a);
	if (a)
		fclose(a);
	if (b)
		fclose(b);
	unlink(q);
	CHECK(verify_dir(st, &n, msg) == -1);
	CHECK_STREQ(msg, "audit-00000000000000000004-00000000000000000006.log: ends at seq 9, its name says seq 6");
}

TEST(one_segment_alone_verifies_from_its_first_seq)
{
	char st[700], p[700], k[700];
	struct tg_error err;
	uint64_t n = 0;
	segmented_state(st, "alone");
	path_in(p, st, "audit/audit-00000000000000000010-00000000000000000012.log");
	CHECK(audit_verify_file(p, path_in(k, st, "keys/audit.pub"), &n, &err) == 0);
	CHECK(n == 3);
	/* A segment cut at its head no longer holds the range it names. */
	FILE *f = fopen(p, "r");
	char buf[4096];
	size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
	if (f)
		fclose(f);
	char *second = memchr(buf, '\n', len) + 1;
	f = fopen(p, "w");
	fwrite(second, 1, len - (size_t)(second - buf), f);
	fclose(f);
	CHECK(audit_verify_file(p, k, &n, &err) == -1);
	CHECK_STREQ(err.msg, "seq 11: out of order (expected seq 10)");
}

TEST(overlapping_segments_are_named)
{
	char st[700], p[700], q[700];
	struct tg_error err;
	struct audit_files f;
	segmented_state(st, "overlap");
	path_in(p, st, "audit/audit-00000000000000000004-00000000000000000006.log");
	path_in(q, st, "audit/audit-00000000000000000005-00000000000000000006.log");
	CHECK(link(p, q) == 0);
	CHECK(audit_files_list(path_in(p, st, "audit"), &f, &err) == -1);
	char want[900];
	snprintf(want, sizeof want, "%s/audit: segments audit-00000000000000000004-00000000000000000006.log "
	         "and audit-00000000000000000005-00000000000000000006.log overlap", st);
	CHECK_STREQ(err.msg, want);
}

TEST(segment_names_parse_only_in_their_exact_form)
{
	uint64_t a, b;
	CHECK(audit_segment_name("audit-00000000000000000001-00000000000000000003.log", &a, &b) && a == 1 && b == 3);
	CHECK(!audit_segment_name("audit-1-3.log", &a, &b));
	CHECK(!audit_segment_name("audit-00000000000000000003-00000000000000000001.log", &a, &b));
	CHECK(!audit_segment_name("audit-00000000000000000000-00000000000000000001.log", &a, &b));
	CHECK(!audit_segment_name("audit-0000000000000000000x-00000000000000000001.log", &a, &b));
	CHECK(!audit_segment_name("audit-00000000000000000001-00000000000000000003.log.gz", &a, &b));
	CHECK(!audit_segment_name("audit-99999999999999999999-99999999999999999999.log", &a, &b));
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_audit_seg.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(audit_log_is_closed_as_a_named_segment_once_it_passes_the_size);
	RUN(verify_of_the_directory_follows_seq_and_chain_across_segments);
	RUN(the_tree_spans_every_segment_and_survives_a_restart);
	RUN(without_tree_json_a_restart_rehashes_every_segment);
	RUN(archived_segments_need_tree_json_to_restart);
	RUN(a_crash_after_the_rename_leaves_no_audit_log_and_the_chain_goes_on);
	RUN(verify_names_a_missing_segment);
	RUN(verify_names_the_first_segment_missing);
	RUN(verify_names_an_altered_record_and_its_segment);
	RUN(verify_names_a_segment_whose_name_lies_about_its_range);
	RUN(one_segment_alone_verifies_from_its_first_seq);
	RUN(overlapping_segments_are_named);
	RUN(segment_names_parse_only_in_their_exact_form);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_SUMMARY();
}
