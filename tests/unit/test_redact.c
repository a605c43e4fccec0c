/*
 * test_redact.c: what a tool with secrets can get past the broker's
 * redaction (src/redact.c), and what the audit log keeps of writeOnly
 * arguments (schema_redact_write_only in src/schema.c).
 *
 * The streaming cases feed the same bytes split in every possible way and
 * check that the result is the same as for one whole buffer; the cap case
 * puts a capture with a limit behind the redactor, as call.c does.
 */
#include "redact.h"
#include "schema.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

struct sink {
	char buf[300000];
	size_t len, limit;
};

static void sink_put(void *ctx, const char *s, size_t n)
{
	struct sink *k = ctx;
	size_t room = k->limit - k->len;
	if (n > room)
		n = room;
	memcpy(k->buf + k->len, s, n);
	k->len += n;
	k->buf[k->len] = '\0';
}

#define PAT(s, name) { (const unsigned char *)(s), sizeof(s) - 1, name }

static const struct redact_pattern api_key[] = { PAT("sk_live_0123456789abcdef", "api-key") };

/* Feed input in pieces of `step` bytes (0: whole) through a redactor. */
static void run(const struct redact_pattern *p, size_t np, const char *in, size_t n, size_t step,
                size_t limit, struct sink *out)
{
	struct redactor r;
	out->len = 0;
	out->buf[0] = '\0';
	out->limit = limit ? limit : sizeof out->buf - 1;
	if (redactor_init(&r, p, np) != 0)
		abort();
	for (size_t off = 0; off < n;) {
		size_t take = step && n - off > step ? step : n - off;
		if (out->len < out->limit)   /* as call.c: a full capture stops feeding */
			redactor_feed(&r, in + off, take, sink_put, out);
		off += take;
	}
	if (out->len < out->limit)
		redactor_finish(&r, sink_put, out);
	redactor_fini(&r);
}

TEST(every_occurrence_in_one_chunk_becomes_a_marker_naming_the_secret)
{
	static struct sink s;
	const char *in = "key=sk_live_0123456789abcdef\nagain sk_live_0123456789abcdef.";
	run(api_key, 1, in, strlen(in), 0, 0, &s);
	CHECK_STREQ(s.buf, "key=[REDACTED:api-key]\nagain [REDACTED:api-key].");
}

TEST(a_secret_split_between_two_reads_at_any_byte_is_still_replaced)
{
	static struct sink s;
	const char *in = "before sk_live_0123456789abcdef after";
	size_t n = strlen(in);
	for (size_t cut = 0; cut <= n; cut++) {
		struct redactor r;
		s.len = 0;
		s.buf[0] = '\0';
		s.limit = sizeof s.buf - 1;
		CHECK(redactor_init(&r, api_key, 1) == 0);
		redactor_feed(&r, in, cut, sink_put, &s);
		redactor_feed(&r, in + cut, n - cut, sink_put, &s);
		redactor_finish(&r, sink_put, &s);
		redactor_fini(&r);
		CHECK_STREQ(s.buf, "before [REDACTED:api-key] after");
	}
}

TEST(one_byte_reads_give_the_same_text_as_one_read)
{
	static struct sink a, b;
	const char *in = "sk_live_0123456789abcdefsk_live_0123456789abcdef sk_live_0123 end";
	run(api_key, 1, in, strlen(in), 0, 0, &a);
	run(api_key, 1, in, strlen(in), 1, 0, &b);
	CHECK_STREQ(a.buf, "[REDACTED:api-key][REDACTED:api-key] sk_live_0123 end");
	CHECK_STREQ(b.buf, a.buf);
}

TEST(a_secret_across_the_redactors_own_chunk_boundary_is_replaced)
{
	/* One feed larger than REDACT_CHUNK: the secret straddles offset 65536. */
	static char in[REDACT_CHUNK + 100];
	static struct sink s;
	memset(in, 'x', sizeof in);
	memcpy(in + REDACT_CHUNK - 10, "sk_live_0123456789abcdef", 24);
	run(api_key, 1, in, sizeof in, 0, 0, &s);
	CHECK(s.len == sizeof in - 24 + strlen("[REDACTED:api-key]"));
	CHECK(memcmp(s.buf + REDACT_CHUNK - 10, "[REDACTED:api-key]xxx", 21) == 0);
	CHECK(strstr(s.buf, "sk_live") == NULL);
}

TEST(a_secret_inside_another_is_covered_by_one_marker_however_it_is_split)
{
	static const struct redact_pattern p[] = {
		PAT("abcdefgh", "inner"), PAT("11abcdefgh22", "outer"),
	};
	static struct sink whole, split;
	const char *in = "x11abcdefgh22y abcdefgh z";
	run(p, 2, in, strlen(in), 0, 0, &whole);
	CHECK_STREQ(whole.buf, "x[REDACTED:outer]y [REDACTED:inner] z");
	for (size_t step = 1; step < strlen(in); step++) {
		run(p, 2, in, strlen(in), step, 0, &split);
		CHECK_STREQ(split.buf, whole.buf);
	}
}

TEST(overlapping_occurrences_of_one_secret_merge_and_leave_no_byte_of_it)
{
	static const struct redact_pattern p[] = { PAT("abababab", "ab") };
	static struct sink s;
	const char *in = "<ababababab>";   /* occurrences at 1 and 3 */
	for (size_t step = 0; step < 5; step++) {
		run(p, 1, in, strlen(in), step, 0, &s);
		CHECK_STREQ(s.buf, "<[REDACTED:ab]>");
	}
}

TEST(the_beginning_of_a_secret_at_the_end_of_the_stream_is_not_an_occurrence)
{
	/* Redacting partial matches would let whoever chooses an echoing
	   tool's input learn the secret byte by byte (redact.h). */
	static struct sink s;
	const char *in = "total: sk_live_0123";
	run(api_key, 1, in, strlen(in), 3, 0, &s);
	CHECK_STREQ(s.buf, "total: sk_live_0123");
}

TEST(a_secret_cut_by_the_output_cap_leaves_no_prefix_of_itself)
{
	/* The capture keeps 40 bytes; the secret starts at byte 35. */
	static char in[200];
	static struct sink s;
	memset(in, 'A', 35);
	strcpy(in + 35, "sk_live_0123456789abcdef and more after it");
	for (size_t step = 0; step < 30; step += 7) {
		run(api_key, 1, in, strlen(in), step, 40, &s);
		CHECK(s.len == 40);
		CHECK(memcmp(s.buf + 35, "[REDA", 5) == 0);
		CHECK(strstr(s.buf, "sk") == NULL);
	}
}

TEST(without_secrets_bytes_pass_through_unchanged)
{
	static struct sink s;
	const char *in = "plain output\n";
	run(NULL, 0, in, strlen(in), 4, 0, &s);
	CHECK_STREQ(s.buf, "plain output\n");
}

TEST(redact_buffer_replaces_values_in_a_whole_string)
{
	size_t n = 0;
	char *r = redact_buffer(api_key, 1, "k sk_live_0123456789abcdef", 26, &n);
	CHECK_STREQ(r, "k [REDACTED:api-key]");
	CHECK(n == strlen("k [REDACTED:api-key]"));
	free(r);
}

/* ---- writeOnly arguments ---------------------------------------------- */

static struct schema *compile(const char *text)
{
	json_error_t je;
	json_t *doc = json_loads(text, 0, &je);
	struct tg_error e;
	struct schema *s = schema_compile(doc, "tools.d/t.json: input_schema", &e);
	json_decref(doc);
	if (!s)
		fprintf(stderr, "    %s\n", e.msg);
	return s;
}

static char *redacted(const struct schema *s, const char *args)
{
	json_t *a = json_loads(args, 0, NULL);
	json_t *r = schema_redact_write_only(s, a);
	char *text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	/* The instance itself (what the tool gets) is left alone. */
	char *orig = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *again = json_loads(args, 0, NULL);
	char *want = json_dumps(again, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STREQ(orig, want);
	free(orig);
	free(want);
	json_decref(again);
	json_decref(a);
	json_decref(r);
	return text;
}

TEST(write_only_values_are_redacted_at_every_depth_the_validator_follows)
{
	struct schema *s = compile("{\"type\": \"object\", \"properties\": {"
		"\"user\": {\"type\": \"string\"},"
		"\"password\": {\"type\": \"string\", \"writeOnly\": true},"
		"\"card\": {\"type\": \"object\", \"properties\": {"
		"    \"number\": {\"type\": \"string\", \"writeOnly\": true},"
		"    \"last4\": {\"type\": \"string\"}}},"
		"\"tokens\": {\"type\": \"array\", \"items\": {\"type\": \"object\", \"properties\": {"
		"    \"secret\": {\"writeOnly\": true}, \"id\": {\"type\": \"integer\"}}}},"
		"\"shown\": {\"type\": \"string\", \"writeOnly\": false}},"
		"\"additionalProperties\": {\"type\": \"string\", \"writeOnly\": true}}");
	CHECK(s != NULL);
	if (!s)
		return;
	char *r = redacted(s, "{\"user\": \"ann\", \"password\": \"hunter2\", "
		"\"card\": {\"number\": \"4111111111111111\", \"last4\": \"1111\"}, "
		"\"tokens\": [{\"secret\": \"t1\", \"id\": 1}, {\"secret\": {\"deep\": 1}, \"id\": 2}], "
		"\"shown\": \"yes\", \"extra\": \"x\"}");
	CHECK_STREQ(r, "{\"card\":{\"last4\":\"1111\",\"number\":\"[REDACTED]\"},\"extra\":\"[REDACTED]\","
		"\"password\":\"[REDACTED]\",\"shown\":\"yes\",\"tokens\":[{\"id\":1,\"secret\":\"[REDACTED]\"},"
		"{\"id\":2,\"secret\":\"[REDACTED]\"}],\"user\":\"ann\"}");
	free(r);
	schema_free(s);
}

TEST(a_write_only_value_of_the_wrong_type_is_redacted_too)
{
	/* Invalid arguments are audited (decision "invalid"): what sits in a
	   writeOnly place is hidden whatever its type. */
	struct schema *s = compile("{\"type\": \"object\", \"properties\": {"
		"\"pin\": {\"type\": \"string\", \"writeOnly\": true}}}");
	CHECK(s != NULL);
	if (!s)
		return;
	char *r = redacted(s, "{\"pin\": 1234, \"other\": [1]}");
	CHECK_STREQ(r, "{\"other\":[1],\"pin\":\"[REDACTED]\"}");
	free(r);
	schema_free(s);
}

int main(void)
{
	RUN(every_occurrence_in_one_chunk_becomes_a_marker_naming_the_secret);
	RUN(a_secret_split_between_two_reads_at_any_byte_is_still_replaced);
	RUN(one_byte_reads_give_the_same_text_as_one_read);
	RUN(a_secret_across_the_redactors_own_chunk_boundary_is_replaced);
	RUN(a_secret_inside_another_is_covered_by_one_marker_however_it_is_split);
	RUN(overlapping_occurrences_of_one_secret_merge_and_leave_no_byte_of_it);
	RUN(the_beginning_of_a_secret_at_the_end_of_the_stream_is_not_an_occurrence);
	RUN(a_secret_cut_by_the_output_cap_leaves_no_prefix_of_itself);
	RUN(without_secrets_bytes_pass_through_unchanged);
	RUN(redact_buffer_replaces_values_in_a_whole_string);
	RUN(write_only_values_are_redacted_at_every_depth_the_validator_follows);
	RUN(a_write_only_value_of_the_wrong_type_is_redacted_too);
	return TEST_SUMMARY();
}
