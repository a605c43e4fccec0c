/*
 * test_forward.c: the audit forwarder's pieces that need no collector: the
 * RFC 5424 message, the RFC 5425 frame, the cursor file, the line reader,
 * option checking, and a forwarder whose collector is down.  Delivery to a
 * real collector is tests/integration/test_forward.py (rsyslog).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "forward.h"
#include "testlib.h"

/* A self-signed CA made for this test (openssl req -x509, P-256), and its key. */
static const char ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBlzCCAT2gAwIBAgIUScGK1wBsPVcv9hxtizRWp35UsCEwCgYIKoZIzj0EAwIw\n"
	"IDEeMBwGA1UEAwwVdG9vbGdhdGUgdW5pdCB0ZXN0IENBMCAXDTI2MTEyNDA2MzEy\n"
	"NloYDzIxMjYxMDMxMDYzMTI2WjAgMR4wHAYDVQQDDBV0b29sZ2F0ZSB1bml0IHRl\n"
	"c3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQODE3G6oENJtd1P5AFB7LV\n"
	"Saksj9v+kI5o98U96znB+w6s3sRWqns+NfqDZYLW/rZ67okt2LT4Of21n1N5maz1\n"
	"o1MwUTAdBgNVHQ4EFgQUJRq2EJdvV1weDG+Qsts9V9LOz/AwHwYDVR0jBBgwFoAU\n"
	"JRq2EJdvV1weDG+Qsts9V9LOz/AwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQD\n"
	"AgNIADBFAiBk9zplqLQkvUppf6bHj4IsS9Wyrnl1irokAJfncP3NnwIhAMX1GWoC\n"
	"aI7BmI8SUxI+S9Y+zBjEC9fRHaHz8oBh3ZaZ\n"
	"-----END CERTIFICATE-----\n";
static const char ca_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgz0LM5ypDWh4ThhC5\n"
	"8t2h9n7kpUKkw1ma5yQpkRLTFPOhRANCAAQODE3G6oENJtd1P5AFB7LVSaksj9v+\n"
	"kI5o98U96znB+w6s3sRWqns+NfqDZYLW/rZ67okt2LT4Of21n1N5maz1\n"
	"-----END PRIVATE KEY-----\n";
static const char other_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwP9tO6gNNKvpa0fU\n"
	"3bbev8Rv6QOIfjiXMdZPNNduAoShRANCAASYm+MaAMGoyzltSJei6CWLt36zOXD1\n"
	"qkQXAo2/RLzFAH4c1mX7hca39gvWqiauTWlAzub4M4x7P7+fhLtTmzrB\n"
	"-----END PRIVATE KEY-----\n";

static char dir[64];

static const char *in_dir(const char *name)
{
	static char bufs[16][256];
	static int k;
	char *b = bufs[k++ % 16];
	snprintf(b, 256, "%s/%s", dir, name);
	return b;
}

static void write_file(const char *path, const char *text, const char *mode)
{
	FILE *fp = fopen(path, mode);
	fputs(text, fp);
	fclose(fp);
}

static char *read_all(const char *path)
{
	static char buf[4096];
	FILE *fp = fopen(path, "r");
	if (!fp)
		return NULL;
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

static ssize_t fmt(const char *line, const char *host, const char *broker, char *out, size_t n,
                   uint64_t *seq, struct tg_error *err)
{
	return forward_format(line, strlen(line), host, broker, 4242, out, n, seq, err);
}

#define LINE7 "{\"seq\":7,\"time\":\"2025-03-01T12:34:56.789Z\",\"prev\":\"ab\",\"event\":\"call.decision\",\"agent\":\"support-bot\"}"

/* ---- The message ---- */

TEST(format_writes_the_exact_rfc5424_message_with_the_line_as_msg)
{
	char out[2048];
	uint64_t seq = 0;
	struct tg_error err = { "" };
	ssize_t n = fmt(LINE7, "host1", "broker-1", out, sizeof out, &seq, &err);
	const char *want = "<86>1 2025-03-01T12:34:56.789Z host1 toolgated 4242 call.decision "
	                   "[toolgate@32473 seq=\"7\" broker=\"broker-1\"] " LINE7;
	CHECK(n == (ssize_t)strlen(want));
	out[n > 0 ? n : 0] = '\0';
	CHECK_STREQ(out, want);
	CHECK(seq == 7);
	CHECK(FORWARD_PRI == 86);
}

TEST(format_escapes_quote_backslash_and_bracket_in_the_structured_data)
{
	char out[2048];
	struct tg_error err = { "" };
	ssize_t n = fmt(LINE7, "h", "a\"b\\c]d[e", out, sizeof out, NULL, &err);
	CHECK(n > 0);
	out[n > 0 ? n : 0] = '\0';
	CHECK_CONTAINS(out, " [toolgate@32473 seq=\"7\" broker=\"a\\\"b\\\\c\\]d[e\"] {\"seq\":7,");
}

TEST(format_forces_the_event_into_a_printable_msgid_of_at_most_32)
{
	char out[2048];
	struct tg_error err = { "" };
	ssize_t n = fmt("{\"seq\":1,\"time\":\"2025-03-01T12:34:56Z\",\"event\":\"bad event\\twith \\u00fctf\"}",
	                "h", "b", out, sizeof out, NULL, &err);
	out[n > 0 ? n : 0] = '\0';
	CHECK_CONTAINS(out, "<86>1 2025-03-01T12:34:56Z h toolgated 4242 bad_event_with___tf [");

	n = fmt("{\"seq\":1,\"event\":\"abcdefghijklmnopqrstuvwxyz0123456789\"}", "h", "b", out,
	        sizeof out, NULL, &err);
	out[n > 0 ? n : 0] = '\0';
	CHECK_CONTAINS(out, " toolgated 4242 abcdefghijklmnopqrstuvwxyz012345 [");

	n = fmt("{\"seq\":1,\"event\":null}", "h", "b", out, sizeof out, NULL, &err);
	out[n > 0 ? n : 0] = '\0';
	CHECK_STREQ(out, "<86>1 - h toolgated 4242 - [toolgate@32473 seq=\"1\" broker=\"b\"] "
	                 "{\"seq\":1,\"event\":null}");
}

static const char *time_of(const char *time_json)
{
	static char out[2048];
	char line[256];
	static struct tg_error err;
	snprintf(line, sizeof line, "{\"seq\":3,\"time\":%s,\"event\":\"e\"}", time_json);
	ssize_t n = fmt(line, "h", "b", out, sizeof out, NULL, &err);
	if (n < 0)
		return err.msg;
	out[n] = '\0';
	char *sp = strchr(out + 6, ' ');
	*sp = '\0';
	return out + 6;
}

TEST(format_keeps_an_rfc3339_time_cuts_fractions_to_six_and_else_writes_nil)
{
	CHECK_STREQ(time_of("\"2025-03-01T12:34:56Z\""), "2025-03-01T12:34:56Z");
	CHECK_STREQ(time_of("\"2025-03-01T12:34:56.123456789Z\""), "2025-03-01T12:34:56.123456Z");
	CHECK_STREQ(time_of("\"2025-03-01T12:34:56.5+02:00\""), "2025-03-01T12:34:56.5+02:00");
	CHECK_STREQ(time_of("\"2025-03-01t12:34:56Z\""), "-");
	CHECK_STREQ(time_of("\"2025-13-01T12:34:56Z\""), "-");
	CHECK_STREQ(time_of("\"2025-03-01T12:34:60Z\""), "-");
	CHECK_STREQ(time_of("\"2025-03-01T12:34:56.Z\""), "-");
	CHECK_STREQ(time_of("\"2025-03-01T12:34:56\""), "-");
	CHECK_STREQ(time_of("\"yesterday\""), "-");
	CHECK_STREQ(time_of("17"), "-");
}

TEST(format_refuses_a_line_that_is_not_an_audit_record)
{
	char out[2048];
	struct tg_error err = { "" };
	CHECK(fmt("not json", "h", "b", out, sizeof out, NULL, &err) == -1);
	CHECK_CONTAINS(err.msg, "audit record: not JSON: ");
	CHECK(fmt("[1,2]", "h", "b", out, sizeof out, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: not a JSON object");
	CHECK(fmt("{\"time\":\"x\"}", "h", "b", out, sizeof out, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: \"seq\" is not a positive integer");
	CHECK(fmt("{\"seq\":0}", "h", "b", out, sizeof out, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: \"seq\" is not a positive integer");
	CHECK(fmt("{\"seq\":1,\"seq\":2}", "h", "b", out, sizeof out, NULL, &err) == -1);
	CHECK_CONTAINS(err.msg, "duplicate object key");
	char deep[600];
	memset(deep, '[', 300);
	memset(deep + 300, ']', 300);
	memcpy(deep, "{\"seq\":1,\"a\":", 13);
	deep[599] = '}';
	CHECK(forward_format(deep, 600, "h", "b", 1, out, sizeof out, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "audit record: nested deeper than 128 levels");
}

TEST(format_accepts_a_nul_escape_inside_a_string_as_the_audit_writer_writes_it)
{
	char out[2048];
	uint64_t seq = 0;
	struct tg_error err = { "" };
	CHECK(fmt("{\"seq\":9,\"args\":{\"x\":\"a\\u0000b\"}}", "h", "b", out, sizeof out, &seq, &err) > 0);
	CHECK(seq == 9);
}

TEST(format_refuses_a_hostname_syslog_cannot_carry_and_a_small_buffer)
{
	char out[2048];
	struct tg_error err = { "" };
	CHECK(fmt(LINE7, "my host", "b", out, sizeof out, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "syslog HOSTNAME \"my host\": not 1 to 255 printable US-ASCII characters");
	CHECK(fmt(LINE7, "", "b", out, sizeof out, NULL, &err) == -1);
	CHECK(fmt(LINE7, "h", "bad\nid", out, sizeof out, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "broker id: not 1 to 255 bytes of UTF-8 without control characters");
	CHECK(fmt(LINE7, "h", "\xff", out, sizeof out, NULL, &err) == -1);
	CHECK(fmt(LINE7, "h", "b", out, 200, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "syslog message: buffer of 200 bytes is too small for a 101-byte record");
	/* The documented size always suffices, even for the longest names. */
	char host[256], id[256];
	memset(host, 'h', 255), host[255] = '\0';
	memset(id, ']', 255), id[255] = '\0';
	size_t len = strlen(LINE7);
	char *big = malloc(len + FORWARD_HEADER_MAX);
	ssize_t n = forward_format(LINE7, len, host, id, 2147483647, big, len + FORWARD_HEADER_MAX,
	                           NULL, &err);
	CHECK(n > (ssize_t)(len + 255 + 510));
	free(big);
}

/* ---- The frame ---- */

TEST(frame_is_the_octet_count_a_space_and_the_message)
{
	char out[64];
	struct tg_error err = { "" };
	CHECK(forward_frame("hello", 5, out, sizeof out, &err) == 7);
	out[7] = '\0';
	CHECK_STREQ(out, "5 hello");
	char msg[1234];
	memset(msg, 'x', sizeof msg);
	char big[1300];
	CHECK(forward_frame(msg, sizeof msg, big, sizeof big, &err) == 1239);
	CHECK(memcmp(big, "1234 xxx", 8) == 0);
	CHECK(forward_frame("hello", 5, out, 6, &err) == -1);
	CHECK_STREQ(err.msg, "syslog frame: buffer of 6 bytes is too small for 7 bytes");
	CHECK(forward_frame("", 0, out, sizeof out, &err) == -1);
	CHECK_STREQ(err.msg, "syslog frame: empty message");
}

/* ---- The cursor ---- */

TEST(cursor_missing_file_is_the_start_of_the_log)
{
	uint64_t seq = 5, off = 5;
	struct tg_error err = { "" };
	CHECK(forward_cursor_read(in_dir("nocursor"), &seq, &off, &err) == 0);
	CHECK(seq == 0 && off == 0);
}

TEST(cursor_written_is_read_back_and_is_one_json_line_mode_0600)
{
	struct tg_error err = { "" };
	const char *p = in_dir("cursor1");
	CHECK(forward_cursor_write(p, 12, 3456, &err) == 0);
	CHECK_STREQ(read_all(p), "{\"seq\":12,\"offset\":3456}\n");
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(access(in_dir("cursor1.tmp"), F_OK) != 0);
	uint64_t seq = 0, off = 0;
	CHECK(forward_cursor_read(p, &seq, &off, &err) == 0);
	CHECK(seq == 12 && off == 3456);
	CHECK(forward_cursor_write(p, 13, 3500, &err) == 0);
	CHECK(forward_cursor_read(p, &seq, &off, &err) == 0);
	CHECK(seq == 13 && off == 3500);
}

TEST(cursor_write_replaces_a_stale_temp_file_and_a_failed_write_keeps_the_old_cursor)
{
	struct tg_error err = { "" };
	const char *p = in_dir("cursor2");
	write_file(in_dir("cursor2.tmp"), "{\"seq\":99,\"of", "w");   /* a crash mid-write */
	CHECK(forward_cursor_write(p, 1, 10, &err) == 0);
	CHECK_STREQ(read_all(p), "{\"seq\":1,\"offset\":10}\n");

	/* The temp file cannot be made: the old cursor must stay whole. */
	CHECK(mkdir(in_dir("cursor2.tmp"), 0700) == 0);
	CHECK(forward_cursor_write(p, 2, 20, &err) == -1);
	char want[300];
	snprintf(want, sizeof want, "%s.tmp: open: Is a directory", p);
	CHECK_STREQ(err.msg, want);
	CHECK_STREQ(read_all(p), "{\"seq\":1,\"offset\":10}\n");
	rmdir(in_dir("cursor2.tmp"));
}

TEST(cursor_that_is_not_ours_is_refused_with_its_path)
{
	struct tg_error err = { "" };
	uint64_t seq, off;
	const char *p = in_dir("cursor3");
	char want[300];
	snprintf(want, sizeof want, "%s: not a forward cursor (want {\"seq\":N,\"offset\":N})", p);
	const char *bad[] = { "garbage", "{\"seq\":1}", "{\"seq\":-1,\"offset\":5}",
	                      "{\"seq\":3,\"offset\":0}", "{\"seq\":1,\"offset\":2,\"x\":3}",
	                      "{\"seq\":\"1\",\"offset\":2}" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(p, bad[i], "w");
		err.msg[0] = '\0';
		CHECK(forward_cursor_read(p, &seq, &off, &err) == -1);
		CHECK_STREQ(err.msg, want);
	}
}

/* ---- The reader ---- */

TEST(reader_gives_complete_lines_only_and_a_torn_last_line_once_it_ends)
{
	struct tg_error err = { "" };
	const char *p = in_dir("log1");
	write_file(p, "a\nbb\nccc", "w");
	struct forward_reader *r = forward_reader_new(p, 0, 0, &err);
	const char *line;
	size_t len;
	uint64_t end;
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == 1);
	CHECK(len == 1 && memcmp(line, "a", 1) == 0 && end == 2);
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == 1);
	CHECK(len == 2 && memcmp(line, "bb", 2) == 0 && end == 5);
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == 0);   /* "ccc" is torn */
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == 0);
	write_file(p, "c\nd", "a");
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == 1);
	CHECK(len == 4 && memcmp(line, "cccc", 4) == 0 && end == 10);
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == 0);
	forward_reader_seek(r, 2);
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == 1);
	CHECK(len == 2 && memcmp(line, "bb", 2) == 0 && end == 5);
	forward_reader_free(r);
}

TEST(reader_waits_for_a_log_that_does_not_exist_yet_and_starts_at_its_offset)
{
	struct tg_error err = { "" };
	const char *p = in_dir("log2");
	struct forward_reader *r = forward_reader_new(p, 0, 5, &err);
	const char *line;
	size_t len;
	uint64_t end;
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == 0);
	write_file(p, "1234\nline2\n", "w");
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == 1);
	CHECK(len == 5 && memcmp(line, "line2", 5) == 0 && end == 11);
	forward_reader_free(r);
}

/* Reads lines until none is complete; their seqs joined by commas. */
static void read_seqs(struct forward_reader *r, char *out, size_t cap)
{
	struct tg_error err = { "" };
	const char *line;
	size_t len;
	uint64_t end;
	out[0] = '\0';
	while (forward_reader_next(r, &line, &len, &end, &err) == 1)
		snprintf(out + strlen(out), cap - strlen(out), "%s%.*s", out[0] ? "," : "",
		         (int)(len > 7 ? strcspn(line + 7, ",") : 0), line + 7);
}

TEST(reader_follows_the_log_across_segments_and_a_rotation)
{
	struct tg_error err = { "" };
	char seg1[700], live[600], out[200];
	snprintf(live, sizeof live, "%s", in_dir("seg"));
	CHECK(mkdir(live, 0700) == 0);
	snprintf(seg1, sizeof seg1, "%s/audit-00000000000000000001-00000000000000000002.log", live);
	strcat(live, "/audit.log");
	write_file(seg1, "{\"seq\":1,\"a\":1}\n{\"seq\":2,\"a\":1}\n", "w");
	write_file(live, "{\"seq\":3,\"a\":1}\n", "w");
	struct forward_reader *r = forward_reader_new(live, 0, 0, &err);
	read_seqs(r, out, sizeof out);
	CHECK_STREQ(out, "1,2,3");
	/* The broker writes seq 4 and 5, closes the file as a segment, and
	   begins a new audit.log. */
	write_file(live, "{\"seq\":4,\"a\":1}\n{\"seq\":5,\"a\":1}\n", "a");
	char seg_3_5[700];
	snprintf(seg_3_5, sizeof seg_3_5, "%.*s/audit-00000000000000000003-00000000000000000005.log",
	         (int)(strlen(live) - 10), live);
	CHECK(rename(live, seg_3_5) == 0);
	write_file(live, "{\"seq\":6,\"a\":1}\n", "w");
	read_seqs(r, out, sizeof out);
	CHECK_STREQ(out, "4,5,6");
	forward_reader_free(r);

	/* A cursor at the end of a closed segment: the next file follows. */
	struct stat st;
	CHECK(stat(seg1, &st) == 0);
	r = forward_reader_new(live, 2, (uint64_t)st.st_size, &err);
	read_seqs(r, out, sizeof out);
	CHECK_STREQ(out, "3,4,5,6");
	forward_reader_free(r);
	/* A cursor in the middle of one. */
	r = forward_reader_new(live, 4, 32, &err);
	read_seqs(r, out, sizeof out);
	CHECK_STREQ(out, "5,6");
	forward_reader_free(r);
}

TEST(reader_refuses_a_line_longer_than_the_audit_writer_allows)
{
	struct tg_error err = { "" };
	const char *p = in_dir("log3");
	FILE *fp = fopen(p, "w");
	fputs("ok\n", fp);
	for (unsigned i = 0; i <= FORWARD_LINE_MAX; i++)
		fputc('x', fp);
	fclose(fp);
	struct forward_reader *r = forward_reader_new(p, 0, 0, &err);
	const char *line;
	size_t len;
	uint64_t end;
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == 1);
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == -1);
	char want[300];
	snprintf(want, sizeof want, "%s: the line at byte 3 is longer than 4194304 bytes", p);
	CHECK_STREQ(err.msg, want);
	forward_reader_free(r);
	unlink(p);
}

TEST(reader_gives_a_line_of_exactly_the_maximum)
{
	struct tg_error err = { "" };
	const char *p = in_dir("log4");
	FILE *fp = fopen(p, "w");
	for (unsigned i = 0; i < FORWARD_LINE_MAX; i++)
		fputc('y', fp);
	fputc('\n', fp);
	fclose(fp);
	struct forward_reader *r = forward_reader_new(p, 0, 0, &err);
	const char *line;
	size_t len = 0;
	uint64_t end = 0;
	CHECK(forward_reader_next(r, &line, &len, &end, &err) == 1);
	CHECK(len == FORWARD_LINE_MAX && end == FORWARD_LINE_MAX + 1);
	forward_reader_free(r);
	unlink(p);
}

/* ---- Options and a forwarder whose collector is down ---- */

static struct forward_options options(void)
{
	struct forward_options o = { .host = "127.0.0.1", .port = 9, .ca_file = in_dir("ca.pem"),
	                             .log_path = in_dir("audit.log"),
	                             .cursor_path = in_dir("forward.cursor"),
	                             .hostname = "unit-host", .broker_id = "unit-broker" };
	return o;
}

static const char *start_error(struct forward_options o)
{
	static struct tg_error err;
	struct forwarder *f = NULL;
	err.msg[0] = '\0';
	if (forward_start(&f, &o, &err) == 0) {
		forward_stop(f, NULL);
		return "(started)";
	}
	CHECK(f == NULL);
	return err.msg;
}

TEST(start_refuses_options_that_cannot_work_naming_the_option)
{
	write_file(in_dir("ca.pem"), ca_pem, "w");
	write_file(in_dir("client.key"), ca_key, "w");
	write_file(in_dir("other.key"), other_key, "w");
	write_file(in_dir("notpem"), "hello\n", "w");
	struct forward_options o = options();
	char want[400];

	o = options(), o.ca_file = NULL;
	CHECK_STREQ(start_error(o), "forward: ca_file is required (the collector's certificate is always verified)");
	o = options(), o.ca_file = in_dir("missing.pem");
	snprintf(want, sizeof want, "forward: ca_file %s: No such file or directory", o.ca_file);
	CHECK_STREQ(start_error(o), want);
	o = options(), o.ca_file = in_dir("notpem");
	snprintf(want, sizeof want, "forward: ca_file %s: no certificate or crl found", o.ca_file);
	CHECK_STREQ(start_error(o), want);
	o = options(), o.cert_file = in_dir("ca.pem");
	CHECK_STREQ(start_error(o), "forward: cert_file and key_file go together; only cert_file is set");
	o = options(), o.cert_file = in_dir("ca.pem"), o.key_file = in_dir("other.key");
	snprintf(want, sizeof want, "forward: key_file %s is not the key of cert_file %s", o.key_file,
	         o.cert_file);
	CHECK_STREQ(start_error(o), want);
	o = options(), o.host = "";
	CHECK_STREQ(start_error(o), "forward: host is empty");
	o = options(), o.port = 65536;
	CHECK_STREQ(start_error(o), "forward: port 65536 is not 1 to 65535");
	o = options(), o.hostname = "two words";
	CHECK_STREQ(start_error(o), "forward: hostname \"two words\" is not 1 to 255 printable US-ASCII characters");
	o = options(), o.broker_id = "";
	CHECK_STREQ(start_error(o), "forward: broker_id is not 1 to 255 bytes of UTF-8 without control characters");
	o = options();
	write_file(o.cursor_path, "{\"seq\":1}", "w");
	snprintf(want, sizeof want, "%s: not a forward cursor (want {\"seq\":N,\"offset\":N})", o.cursor_path);
	CHECK_STREQ(start_error(o), want);
	unlink(o.cursor_path);
	/* And with everything right it starts (mutual TLS key and certificate match). */
	o = options(), o.cert_file = in_dir("ca.pem"), o.key_file = in_dir("client.key");
	CHECK_STREQ(start_error(o), "(started)");
}

static unsigned closed_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	bind(s, (struct sockaddr *)&a, sizeof a);
	getsockname(s, (struct sockaddr *)&a, &al);
	close(s);   /* nothing listens there now */
	return ntohs(a.sin_port);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(collector_down_is_a_status_with_the_records_behind_and_stop_is_bounded)
{
	write_file(in_dir("ca.pem"), ca_pem, "w");
	write_file(in_dir("audit.log"), "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n{\"seq\":4", "w");
	struct forward_options o = options();
	o.port = closed_port();
	struct forwarder *f = NULL;
	struct tg_error err = { "" };
	CHECK(forward_start(&f, &o, &err) == 0);
	struct forward_status st = { 0 };
	for (int i = 0; i < 100 && f; i++) {
		forward_status(f, &st);
		if (st.last_error[0] && st.behind == 3)
			break;
		usleep(20000);
	}
	char want[200];
	snprintf(want, sizeof want, "collector 127.0.0.1:%u: connect: Connection refused", o.port);
	CHECK_STREQ(st.last_error, want);
	CHECK(!st.connected);
	CHECK(st.behind == 3);   /* the torn fourth line is not a record yet */
	CHECK(st.sent_seq == 0 && st.delivered_seq == 0);
	double t0 = now_s();
	struct forward_status last = { .connected = true };
	forward_stop(f, &last);
	CHECK(now_s() - t0 < FORWARD_STOP_MS / 1000.0 + 1.0);
	CHECK(!last.connected && last.behind == 3 && last.delivered_seq == 0);
	CHECK_STREQ(last.last_error, want);
	CHECK(access(o.cursor_path, F_OK) != 0);   /* nothing delivered, nothing to save */
	forward_stop(NULL, NULL);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/tg-forward-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(format_writes_the_exact_rfc5424_message_with_the_line_as_msg);
	RUN(format_escapes_quote_backslash_and_bracket_in_the_structured_data);
	RUN(format_forces_the_event_into_a_printable_msgid_of_at_most_32);
	RUN(format_keeps_an_rfc3339_time_cuts_fractions_to_six_and_else_writes_nil);
	RUN(format_refuses_a_line_that_is_not_an_audit_record);
	RUN(format_accepts_a_nul_escape_inside_a_string_as_the_audit_writer_writes_it);
	RUN(format_refuses_a_hostname_syslog_cannot_carry_and_a_small_buffer);
	RUN(frame_is_the_octet_count_a_space_and_the_message);
	RUN(cursor_missing_file_is_the_start_of_the_log);
	RUN(cursor_written_is_read_back_and_is_one_json_line_mode_0600);
	RUN(cursor_write_replaces_a_stale_temp_file_and_a_failed_write_keeps_the_old_cursor);
	RUN(cursor_that_is_not_ours_is_refused_with_its_path);
	RUN(reader_gives_complete_lines_only_and_a_torn_last_line_once_it_ends);
	RUN(reader_waits_for_a_log_that_does_not_exist_yet_and_starts_at_its_offset);
	RUN(reader_follows_the_log_across_segments_and_a_rotation);
	RUN(reader_refuses_a_line_longer_than_the_audit_writer_allows);
	RUN(reader_gives_a_line_of_exactly_the_maximum);
	RUN(start_refuses_options_that_cannot_work_naming_the_option);
	RUN(collector_down_is_a_status_with_the_records_behind_and_stop_is_bounded);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_SUMMARY();
}
