/*
 * Unit tests: message framing (framing.c) and JSON-RPC parsing and
 * serialization (jsonrpc.c), the first code that touches client bytes.
 */
#include "framing.h"
#include "jsonrpc.h"
#include "testlib.h"

#include <stdlib.h>

#define S(lit) lit, sizeof(lit) - 1

TEST(framing_splits_lines_and_strips_crlf)
{
	struct framer f = { .max = 100 };
	const char *buf = "{\"a\":1}\r\n{\"b\":2}\n{\"c\"";
	size_t len = strlen(buf), off = 0, used, ll;
	const char *line;
	CHECK(framing_next(&f, buf, len, &line, &ll, &used) == FRAME_LINE);
	CHECK(ll == 7 && memcmp(line, "{\"a\":1}", 7) == 0 && used == 9);
	off += used;
	CHECK(framing_next(&f, buf + off, len - off, &line, &ll, &used) == FRAME_LINE);
	CHECK(ll == 7 && memcmp(line, "{\"b\":2}", 7) == 0);
	off += used;
	CHECK(framing_next(&f, buf + off, len - off, &line, &ll, &used) == FRAME_NEED_MORE);
	CHECK(used == 0);
	CHECK(framing_finish(&f, buf + off, len - off, &line, &ll) == FRAME_LINE);
	CHECK(ll == 4);
}

TEST(framing_reports_empty_lines_as_empty)
{
	struct framer f = { .max = 10 };
	const char *line;
	size_t ll, used;
	CHECK(framing_next(&f, S("\n"), &line, &ll, &used) == FRAME_EMPTY && used == 1);
	CHECK(framing_next(&f, S("\r\n"), &line, &ll, &used) == FRAME_EMPTY && used == 2);
}

TEST(framing_accepts_a_line_of_exactly_the_limit_and_refuses_one_byte_more)
{
	struct framer f = { .max = 5 };
	const char *line;
	size_t ll, used;
	CHECK(framing_next(&f, S("12345\n"), &line, &ll, &used) == FRAME_LINE && ll == 5);
	CHECK(framing_next(&f, S("12345\r\n"), &line, &ll, &used) == FRAME_LINE && ll == 5);
	CHECK(framing_next(&f, S("123456\n"), &line, &ll, &used) == FRAME_OVERSIZE && used == 7);
	CHECK(!f.discarding);
}

TEST(framing_skips_the_rest_of_an_oversize_line_then_resumes)
{
	struct framer f = { .max = 4 };
	const char *line;
	size_t ll, used;
	/* Unterminated and already too long: reported once, all consumed. */
	CHECK(framing_next(&f, S("abcdef"), &line, &ll, &used) == FRAME_OVERSIZE && used == 6);
	CHECK(f.discarding);
	/* More of the same line: swallowed silently. */
	CHECK(framing_next(&f, S("ghij"), &line, &ll, &used) == FRAME_NEED_MORE && used == 4);
	/* Its newline ends the skipping; the next line is whole again. */
	CHECK(framing_next(&f, S("kl\nok\n"), &line, &ll, &used) == FRAME_EMPTY && used == 3);
	CHECK(!f.discarding);
	CHECK(framing_next(&f, S("ok\n"), &line, &ll, &used) == FRAME_LINE && ll == 2);
	/* At EOF inside a skipped line nothing is delivered. */
	f.discarding = true;
	CHECK(framing_finish(&f, S("zz"), &line, &ll) == FRAME_EMPTY);
}

TEST(a_request_is_classified_with_its_id_method_and_params)
{
	struct jsonrpc_msg m;
	jsonrpc_parse(S("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}"), &m);
	CHECK(m.kind == JSONRPC_REQUEST);
	CHECK(json_integer_value(m.id) == 7);
	CHECK_STREQ(m.method, "tools/call");
	CHECK_STREQ(json_string_value(json_object_get(m.params, "name")), "x");
	jsonrpc_msg_clear(&m);
	jsonrpc_parse(S("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"ping\"}"), &m);
	CHECK(m.kind == JSONRPC_REQUEST && json_is_object(m.params) && json_object_size(m.params) == 0);
	jsonrpc_msg_clear(&m);
}

TEST(a_message_without_id_is_a_notification_and_with_result_a_response)
{
	struct jsonrpc_msg m;
	jsonrpc_parse(S("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"), &m);
	CHECK(m.kind == JSONRPC_NOTIFICATION && m.id == NULL);
	jsonrpc_msg_clear(&m);
	jsonrpc_parse(S("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"), &m);
	CHECK(m.kind == JSONRPC_RESPONSE);
	jsonrpc_msg_clear(&m);
}

static void expect_invalid(const char *line, int code, const char *message, int has_id)
{
	struct jsonrpc_msg m;
	jsonrpc_parse(line, strlen(line), &m);
	CHECK(m.kind == JSONRPC_INVALID);
	CHECK(m.error_code == code);
	CHECK_STREQ(m.error_message, message);
	CHECK((m.id != NULL) == has_id);
	jsonrpc_msg_clear(&m);
}

TEST(malformed_messages_get_the_standard_codes_and_exact_messages)
{
	expect_invalid("{\"jsonrpc\":", -32700, "Parse error: unexpected token near end of file at column 11", 0);
	expect_invalid("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", -32600,
	               "Invalid Request: batches are not supported", 0);
	expect_invalid("\"just a string\"", -32600, "Invalid Request: a message must be a JSON object", 0);
	expect_invalid("42", -32600, "Invalid Request: a message must be a JSON object", 0);
	expect_invalid("{\"id\":1,\"method\":\"ping\"}", -32600, "Invalid Request: \"jsonrpc\" must be \"2.0\"", 1);
	expect_invalid("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", -32600,
	               "Invalid Request: \"id\" must be a string or an integer", 0);
	expect_invalid("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", -32600,
	               "Invalid Request: \"id\" must be a string or an integer", 0);
	expect_invalid("{\"jsonrpc\":\"2.0\",\"id\":1}", -32600, "Invalid Request: missing \"method\"", 1);
	expect_invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":3}", -32600,
	               "Invalid Request: \"method\" must be a string", 1);
	expect_invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":[1]}", -32602,
	               "Invalid params: \"params\" must be an object", 1);
	expect_invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"x\"}", -32700,
	               "Parse error: duplicate object key near '\"id\"' at column 28", 0);
	expect_invalid("{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{\"s\":\"\xff\"}}", -32700,
	               "Parse error: unable to decode byte 0xff near '\"' at column 45", 0);
}

TEST(nesting_deeper_than_the_limit_is_refused_before_parsing)
{
	char deep[200];
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	deep[130] = '\0';
	expect_invalid(deep, -32700, "Parse error: nesting deeper than 64 levels", 0);
	/* Brackets inside strings do not count. */
	CHECK(json_text_depth("{\"a\":\"[[[[[[[[\\\"[[[[\"}", 21, 64) == 1);
}

TEST(replies_are_single_lines_carrying_the_request_id)
{
	size_t len;
	json_t *id = json_string("req-1");
	char *l = jsonrpc_result_line(id, json_pack("{s:s}", "text", "a\nb"), &len);
	CHECK_STREQ(l, "{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"result\":{\"text\":\"a\\nb\"}}\n");
	CHECK(len == strlen(l));
	free(l);
	l = jsonrpc_error_line(NULL, -32700, "Parse error: x", NULL, &len);
	CHECK_STREQ(l, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error: x\"}}\n");
	free(l);
	json_decref(id);
}

TEST(tool_output_that_is_not_utf8_becomes_replacement_characters)
{
	json_t *s = json_string_lossy("ok \xff\xfe caf\xc3\xa9 \xed\xa0\x80", 16);
	CHECK_STREQ(json_string_value(s), "ok \xEF\xBF\xBD\xEF\xBF\xBD caf\xc3\xa9 \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	json_decref(s);
	s = json_string_lossy("plain", 5);
	CHECK_STREQ(json_string_value(s), "plain");
	json_decref(s);
}

int main(void)
{
	RUN(framing_splits_lines_and_strips_crlf);
	RUN(framing_reports_empty_lines_as_empty);
	RUN(framing_accepts_a_line_of_exactly_the_limit_and_refuses_one_byte_more);
	RUN(framing_skips_the_rest_of_an_oversize_line_then_resumes);
	RUN(a_request_is_classified_with_its_id_method_and_params);
	RUN(a_message_without_id_is_a_notification_and_with_result_a_response);
	RUN(malformed_messages_get_the_standard_codes_and_exact_messages);
	RUN(nesting_deeper_than_the_limit_is_refused_before_parsing);
	RUN(replies_are_single_lines_carrying_the_request_id);
	RUN(tool_output_that_is_not_utf8_becomes_replacement_characters);
	return TEST_SUMMARY();
}
