/*
 * Unit tests: the id scanner of `toolgate mcp` (cli_mcp.c), which reads the
 * top-level "id" of a line too long to keep, from bytes fed in pieces, so
 * that the bridge can answer an oversize request with its own id.
 */
#include "cli_mcp.h"
#include "testlib.h"

#include <stdlib.h>

/* The id as compact JSON text ("null" when none could be read), feeding
   the text in pieces of `step` bytes. */
static char *scan(const char *text, size_t step)
{
	struct idscan s;
	idscan_reset(&s);
	size_t n = strlen(text);
	for (size_t off = 0; off < n; off += step)
		idscan_feed(&s, text + off, n - off < step ? n - off : step);
	json_t *id = idscan_id(&s);
	char *out = id ? json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("null");
	json_decref(id);
	return out;
}

static int same_in_every_piece_size(const char *text, const char *want)
{
	for (size_t step = 1; step <= strlen(text) + 1; step++) {
		char *got = scan(text, step);
		int same = strcmp(got, want) == 0;
		if (!same)
			fprintf(stderr, "    step %zu: want %s, got %s\n", step, want, got);
		free(got);
		if (!same)
			return 0;
	}
	return 1;
}

TEST(idscan_reads_an_integer_id_after_the_params_as_the_typescript_sdk_writes_it)
{
	CHECK(same_in_every_piece_size(
		"{\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"arguments\":{\"q\":\"xxxx\"}},"
		"\"jsonrpc\":\"2.0\",\"id\":42}", "42"));
}

TEST(idscan_reads_a_string_id_with_escapes_and_spaces)
{
	CHECK(same_in_every_piece_size("{ \"id\" : \"a\\\"b\\\\c\" , \"method\": \"x\" }", "\"a\\\"b\\\\c\""));
}

TEST(idscan_ignores_id_members_of_nested_objects_and_id_inside_strings)
{
	CHECK(same_in_every_piece_size(
		"{\"params\":{\"id\":1,\"arguments\":{\"text\":\"\\\"id\\\":2\",\"list\":[{\"id\":3}]}},"
		"\"note\":\"id\",\"id\":\"top\"}", "\"top\""));
	CHECK(same_in_every_piece_size("{\"params\":{\"id\":1},\"method\":\"notifications/x\"}", "null"));
}

TEST(idscan_refuses_ids_that_json_rpc_does_not_allow)
{
	CHECK(same_in_every_piece_size("{\"id\":null,\"method\":\"x\"}", "null"));
	CHECK(same_in_every_piece_size("{\"id\":1.5,\"method\":\"x\"}", "null"));
	CHECK(same_in_every_piece_size("{\"id\":{\"a\":1},\"method\":\"x\"}", "null"));
	CHECK(same_in_every_piece_size("{\"id\":true}", "null"));
}

TEST(idscan_gives_up_on_an_id_longer_than_it_keeps)
{
	char text[400];
	char big[300];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	snprintf(text, sizeof text, "{\"id\":\"%s\"}", big);
	CHECK(same_in_every_piece_size(text, "null"));
}

TEST(idscan_finds_no_id_in_what_is_not_an_object)
{
	CHECK(same_in_every_piece_size("[{\"id\":1}]", "null"));
	CHECK(same_in_every_piece_size("\"id\"", "null"));
	CHECK(same_in_every_piece_size("{\"id\"", "null"));
}

TEST(idscan_takes_the_first_id_of_a_line_with_two)
{
	CHECK(same_in_every_piece_size("{\"id\":1,\"id\":2}", "1"));
}

int main(void)
{
	RUN(idscan_reads_an_integer_id_after_the_params_as_the_typescript_sdk_writes_it);
	RUN(idscan_reads_a_string_id_with_escapes_and_spaces);
	RUN(idscan_ignores_id_members_of_nested_objects_and_id_inside_strings);
	RUN(idscan_refuses_ids_that_json_rpc_does_not_allow);
	RUN(idscan_gives_up_on_an_id_longer_than_it_keeps);
	RUN(idscan_finds_no_id_in_what_is_not_an_object);
	RUN(idscan_takes_the_first_id_of_a_line_with_two);
	return TEST_SUMMARY();
}
