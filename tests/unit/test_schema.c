/*
 * test_schema.c: the JSON Schema subset (src/schema.c) as a specification.
 *
 * Each test compiles a schema written inline and asserts either the exact
 * load error a platform team would see or the exact validation message a
 * model would read back.
 */
#include "schema.h"
#include "testlib.h"

#include <stdlib.h>

#define WHERE "tools.d/t.json: input_schema"

static char result[TG_ERROR_MAX + 64];

/* Compile text; "compiled" on success, else the error message. */
static const char *compile_msg_flags(const char *text, size_t flags)
{
	json_error_t jerr;
	struct tg_error err = {{0}};
	json_t *doc = json_loads(text, JSON_DECODE_ANY | flags, &jerr);
	struct schema *s;

	if (!doc) {
		snprintf(result, sizeof result, "test bug: bad JSON: %s", jerr.text);
		return result;
	}
	s = schema_compile(doc, WHERE, &err);
	json_decref(doc);
	if (s) {
		schema_free(s);
		return "compiled";
	}
	snprintf(result, sizeof result, "%s", err.msg);
	return result;
}

static const char *compile_msg(const char *text)
{
	return compile_msg_flags(text, 0);
}

/* Validate instance against schema; "valid" or the error message. */
static const char *validate_msg(const char *schema_text, const char *instance_text)
{
	json_error_t jerr;
	struct tg_error err = {{0}};
	json_t *doc = json_loads(schema_text, 0, &jerr);
	json_t *inst;
	struct schema *s;
	int rc;

	if (!doc) {
		snprintf(result, sizeof result, "test bug: bad schema JSON: %s", jerr.text);
		return result;
	}
	s = schema_compile(doc, WHERE, &err);
	json_decref(doc);
	if (!s) {
		snprintf(result, sizeof result, "test bug: schema did not compile: %s", err.msg);
		return result;
	}
	inst = json_loads(instance_text, JSON_DECODE_ANY, &jerr);
	if (!inst) {
		schema_free(s);
		snprintf(result, sizeof result, "test bug: bad instance JSON: %s", jerr.text);
		return result;
	}
	rc = schema_validate(s, inst, &err);
	json_decref(inst);
	schema_free(s);
	if (rc == 0)
		return "valid";
	snprintf(result, sizeof result, "%s", err.msg);
	return result;
}

/* The SPEC's refund.issue input_schema. */
static const char refund_schema[] =
	"{\"type\": \"object\","
	" \"properties\": {\"order_id\": {\"type\": \"string\", \"pattern\": \"^[A-Z0-9-]{4,32}$\"},"
	"                \"amount_cents\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100000}},"
	" \"required\": [\"order_id\", \"amount_cents\"], \"additionalProperties\": false}";

/* ---- the SPEC example ---------------------------------------------------- */

TEST(refund_schema_accepts_a_well_formed_call)
{
	CHECK_STREQ(validate_msg(refund_schema, "{\"order_id\": \"ORD-1234\", \"amount_cents\": 2500}"),
	            "valid");
	CHECK_STREQ(validate_msg(refund_schema, "{\"order_id\": \"ORD-1234\", \"amount_cents\": 100000}"),
	            "valid");
}

TEST(refund_schema_names_each_problem_by_its_argument_path)
{
	CHECK_STREQ(validate_msg(refund_schema, "{\"amount_cents\": 5}"),
	            "arguments: missing required property \"order_id\"");
	CHECK_STREQ(validate_msg(refund_schema, "{\"order_id\": \"ORD-1234\"}"),
	            "arguments: missing required property \"amount_cents\"");
	CHECK_STREQ(validate_msg(refund_schema, "{\"order_id\": \"ORD-1234\", \"amount_cents\": 0}"),
	            "arguments.amount_cents: 0 is less than the minimum 1");
	CHECK_STREQ(validate_msg(refund_schema, "{\"order_id\": \"ORD-1234\", \"amount_cents\": 100001}"),
	            "arguments.amount_cents: 100001 is greater than the maximum 100000");
	CHECK_STREQ(validate_msg(refund_schema, "{\"order_id\": \"ab\", \"amount_cents\": 5}"),
	            "arguments.order_id: \"ab\" does not match the pattern ^[A-Z0-9-]{4,32}$");
	CHECK_STREQ(validate_msg(refund_schema,
	                         "{\"order_id\": \"ORD-1234\", \"amount_cents\": 5, \"foo\": 1}"),
	            "arguments: unexpected property \"foo\"");
	CHECK_STREQ(validate_msg(refund_schema, "{\"order_id\": \"ORD-1234\", \"amount_cents\": \"5\"}"),
	            "arguments.amount_cents: expected integer, got string");
	CHECK_STREQ(validate_msg(refund_schema, "[\"ORD-1234\", 5]"),
	            "arguments: expected object, got array");
}

TEST(refund_schema_takes_a_whole_real_as_an_integer_but_not_a_fraction)
{
	CHECK_STREQ(validate_msg(refund_schema, "{\"order_id\": \"ORD-1234\", \"amount_cents\": 25.0}"),
	            "valid");
	CHECK_STREQ(validate_msg(refund_schema, "{\"order_id\": \"ORD-1234\", \"amount_cents\": 25.5}"),
	            "arguments.amount_cents: expected integer, got number");
}

/* ---- strict compilation ------------------------------------------------- */

TEST(unsupported_keyword_is_a_load_error_naming_its_location)
{
	json_t *doc = json_loads("{\"type\": \"object\", \"properties\": {\"q\": "
	                         "{\"type\": \"string\", \"format\": \"email\"}}}", 0, NULL);
	struct tg_error err = {{0}};
	struct schema *s = schema_compile(doc, "tools.d/kb.json: input_schema", &err);

	CHECK(s == NULL);
	CHECK_STREQ(err.msg, "tools.d/kb.json: input_schema.properties.q: unsupported keyword \"format\"");
	json_decref(doc);

	CHECK_STREQ(compile_msg("{\"$ref\": \"#/defs/x\"}"),
	            WHERE ": unsupported keyword \"$ref\"");
	CHECK_STREQ(compile_msg("{\"items\": {\"oneOf\": []}}"),
	            WHERE ".items: unsupported keyword \"oneOf\"");
	CHECK_STREQ(compile_msg("{\"additionalProperties\": {\"items\": {\"uniqueItems\": true}}}"),
	            WHERE ".additionalProperties.items: unsupported keyword \"uniqueItems\"");
	CHECK_STREQ(compile_msg("{\"properties\": {\"a\": {\"properties\": {\"b\": {\"multipleOf\": 2}}}}}"),
	            WHERE ".properties.a.properties.b: unsupported keyword \"multipleOf\"");
}

TEST(schema_without_a_where_is_named_schema)
{
	json_t *doc = json_loads("{\"format\": \"x\"}", 0, NULL);
	struct tg_error err = {{0}};

	CHECK(schema_compile(doc, NULL, &err) == NULL);
	CHECK_STREQ(err.msg, "schema: unsupported keyword \"format\"");
	json_decref(doc);
}

TEST(a_schema_must_be_an_object_everywhere)
{
	CHECK_STREQ(compile_msg("[]"), WHERE ": a schema must be a JSON object, not array");
	CHECK_STREQ(compile_msg("true"), WHERE ": a schema must be a JSON object, not boolean");
	CHECK_STREQ(compile_msg("{\"properties\": {\"q\": \"string\"}}"),
	            WHERE ".properties.q: a schema must be a JSON object, not string");
	CHECK_STREQ(compile_msg("{\"properties\": []}"),
	            WHERE ": \"properties\" must be an object of schemas");
	CHECK_STREQ(compile_msg("{\"items\": [{\"type\": \"string\"}]}"),
	            WHERE ": \"items\" must be a schema object (the array form is not supported)");
	CHECK_STREQ(compile_msg("{\"additionalProperties\": \"no\"}"),
	            WHERE ": \"additionalProperties\" must be a boolean or a schema object");
}

TEST(every_supported_keyword_compiles)
{
	CHECK_STREQ(compile_msg(
		"{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\", \"$comment\": \"c\","
		" \"title\": \"t\", \"description\": \"d\", \"default\": {}, \"examples\": [{}],"
		" \"readOnly\": false, \"writeOnly\": false,"
		" \"type\": [\"object\", \"null\"], \"required\": [\"s\"], \"additionalProperties\": false,"
		" \"properties\": {"
		"   \"s\": {\"type\": \"string\", \"minLength\": 0, \"maxLength\": 10, \"pattern\": \"^a\","
		"         \"enum\": [\"a\", \"ab\"]},"
		"   \"n\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 1.5,"
		"         \"exclusiveMinimum\": -1, \"exclusiveMaximum\": 2},"
		"   \"c\": {\"const\": null},"
		"   \"l\": {\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"minItems\": 1,"
		"         \"maxItems\": 3},"
		"   \"o\": {\"type\": \"object\", \"additionalProperties\": {\"type\": \"boolean\"}}}}"),
	            "compiled");
}

TEST(wrongly_typed_keyword_values_are_load_errors)
{
	CHECK_STREQ(compile_msg("{\"minimum\": \"3\"}"), WHERE ": \"minimum\" must be a number");
	CHECK_STREQ(compile_msg("{\"maximum\": null}"), WHERE ": \"maximum\" must be a number");
	CHECK_STREQ(compile_msg("{\"exclusiveMinimum\": true}"),
	            WHERE ": \"exclusiveMinimum\" must be a number");
	CHECK_STREQ(compile_msg("{\"exclusiveMaximum\": [1]}"),
	            WHERE ": \"exclusiveMaximum\" must be a number");
	CHECK_STREQ(compile_msg("{\"required\": \"x\"}"),
	            WHERE ": \"required\" must be an array of property names");
	CHECK_STREQ(compile_msg("{\"required\": [\"x\", 1]}"),
	            WHERE ": \"required\" must be an array of property names");
	CHECK_STREQ(compile_msg("{\"required\": [\"x\", \"x\"]}"),
	            WHERE ": \"required\" lists \"x\" twice");
	CHECK_STREQ(compile_msg("{\"enum\": []}"), WHERE ": \"enum\" must be a non-empty array");
	CHECK_STREQ(compile_msg("{\"enum\": \"a\"}"), WHERE ": \"enum\" must be a non-empty array");
	CHECK_STREQ(compile_msg("{\"pattern\": 5}"), WHERE ": \"pattern\" must be a string");
	CHECK_STREQ(compile_msg("{\"title\": 1}"), WHERE ": \"title\" must be a string");
	CHECK_STREQ(compile_msg("{\"description\": null}"), WHERE ": \"description\" must be a string");
	CHECK_STREQ(compile_msg("{\"$schema\": 1}"), WHERE ": \"$schema\" must be a string");
	CHECK_STREQ(compile_msg("{\"readOnly\": \"yes\"}"), WHERE ": \"readOnly\" must be a boolean");
	CHECK_STREQ(compile_msg("{\"writeOnly\": 1}"), WHERE ": \"writeOnly\" must be a boolean");
	CHECK_STREQ(compile_msg("{\"examples\": {}}"), WHERE ": \"examples\" must be an array");
}

TEST(counts_must_be_non_negative_integers)
{
	CHECK_STREQ(compile_msg("{\"minLength\": -1}"),
	            WHERE ": \"minLength\" must be a non-negative integer");
	CHECK_STREQ(compile_msg("{\"maxLength\": \"3\"}"),
	            WHERE ": \"maxLength\" must be a non-negative integer");
	CHECK_STREQ(compile_msg("{\"minItems\": 1.5}"),
	            WHERE ": \"minItems\" must be a non-negative integer");
	CHECK_STREQ(compile_msg("{\"maxItems\": 2.0}"),
	            WHERE ": \"maxItems\" must be a non-negative integer");
	CHECK_STREQ(compile_msg("{\"minLength\": 0, \"maxItems\": 0}"), "compiled");
}

TEST(contradictory_bounds_are_load_errors)
{
	CHECK_STREQ(compile_msg("{\"minLength\": 5, \"maxLength\": 2}"),
	            WHERE ": \"minLength\" 5 is greater than \"maxLength\" 2");
	CHECK_STREQ(compile_msg("{\"minItems\": 3, \"maxItems\": 1}"),
	            WHERE ": \"minItems\" 3 is greater than \"maxItems\" 1");
	CHECK_STREQ(compile_msg("{\"minimum\": 2.5, \"maximum\": 2}"),
	            WHERE ": \"minimum\" 2.5 is greater than \"maximum\" 2");
	CHECK_STREQ(compile_msg("{\"minimum\": 2, \"maximum\": 2.0}"), "compiled");
}

TEST(type_accepts_names_and_arrays_of_names_only)
{
	CHECK_STREQ(compile_msg("{\"type\": \"strnig\"}"),
	            WHERE ": unknown type \"strnig\" (valid types: object, array, string, number, "
	            "integer, boolean, null)");
	CHECK_STREQ(compile_msg("{\"properties\": {\"a\": {\"type\": [\"string\", \"float\"]}}}"),
	            WHERE ".properties.a: unknown type \"float\" (valid types: object, array, string, "
	            "number, integer, boolean, null)");
	CHECK_STREQ(compile_msg("{\"type\": 1}"),
	            WHERE ": \"type\" must be a type name or an array of type names");
	CHECK_STREQ(compile_msg("{\"type\": [\"string\", 1]}"),
	            WHERE ": \"type\" must be a type name or an array of type names");
	CHECK_STREQ(compile_msg("{\"type\": []}"), WHERE ": \"type\" must not be an empty array");
	CHECK_STREQ(compile_msg("{\"type\": [\"string\", \"string\"]}"),
	            WHERE ": \"type\" lists \"string\" twice");
}

TEST(nesting_is_limited_to_32_schemas)
{
	char doc[1024], want[512];
	size_t o = 0;

	/* 32 schemas: the root and 31 nested "items" */
	for (int i = 0; i < 31; i++)
		o += (size_t)snprintf(doc + o, sizeof doc - o, "{\"items\": ");
	o += (size_t)snprintf(doc + o, sizeof doc - o, "{}");
	for (int i = 0; i < 31; i++)
		o += (size_t)snprintf(doc + o, sizeof doc - o, "}");
	CHECK_STREQ(compile_msg(doc), "compiled");

	o = 0;
	for (int i = 0; i < 32; i++)
		o += (size_t)snprintf(doc + o, sizeof doc - o, "{\"properties\": {\"p\": ");
	o += (size_t)snprintf(doc + o, sizeof doc - o, "{}");
	for (int i = 0; i < 32; i++)
		o += (size_t)snprintf(doc + o, sizeof doc - o, "}}");
	o = (size_t)snprintf(want, sizeof want, "%s", WHERE);
	for (int i = 0; i < 32; i++)
		o += (size_t)snprintf(want + o, sizeof want - o, ".properties.p");
	snprintf(want + o, sizeof want - o, ": schemas are nested more than 32 levels deep");
	CHECK_STREQ(compile_msg(doc), want);
}

/* ---- type ----------------------------------------------------------------- */

TEST(each_type_accepts_its_values_and_names_the_mismatch)
{
	CHECK_STREQ(validate_msg("{\"type\": \"object\"}", "{}"), "valid");
	CHECK_STREQ(validate_msg("{\"type\": \"array\"}", "[]"), "valid");
	CHECK_STREQ(validate_msg("{\"type\": \"string\"}", "\"\""), "valid");
	CHECK_STREQ(validate_msg("{\"type\": \"boolean\"}", "false"), "valid");
	CHECK_STREQ(validate_msg("{\"type\": \"null\"}", "null"), "valid");
	CHECK_STREQ(validate_msg("{\"type\": \"object\"}", "null"), "arguments: expected object, got null");
	CHECK_STREQ(validate_msg("{\"type\": \"array\"}", "{}"), "arguments: expected array, got object");
	CHECK_STREQ(validate_msg("{\"type\": \"string\"}", "1"), "arguments: expected string, got integer");
	CHECK_STREQ(validate_msg("{\"type\": \"boolean\"}", "0"), "arguments: expected boolean, got integer");
	CHECK_STREQ(validate_msg("{\"type\": \"null\"}", "\"\""), "arguments: expected null, got string");
	CHECK_STREQ(validate_msg("{\"type\": \"number\"}", "true"), "arguments: expected number, got boolean");
	CHECK_STREQ(validate_msg("{\"type\": [\"string\", \"null\"]}", "null"), "valid");
	CHECK_STREQ(validate_msg("{\"type\": [\"null\", \"string\"]}", "7"),
	            "arguments: expected string or null, got integer");
	CHECK_STREQ(validate_msg("{}", "[1, {}]"), "valid");
}

TEST(integer_and_number_follow_json_schema)
{
	CHECK_STREQ(validate_msg("{\"type\": \"integer\"}", "3"), "valid");
	CHECK_STREQ(validate_msg("{\"type\": \"integer\"}", "3.0"), "valid");
	CHECK_STREQ(validate_msg("{\"type\": \"integer\"}", "-0.0"), "valid");
	CHECK_STREQ(validate_msg("{\"type\": \"integer\"}", "1e300"), "valid");
	CHECK_STREQ(validate_msg("{\"type\": \"integer\"}", "3.5"), "arguments: expected integer, got number");
	CHECK_STREQ(validate_msg("{\"type\": \"integer\"}", "1e-300"),
	            "arguments: expected integer, got number");
	CHECK_STREQ(validate_msg("{\"type\": \"number\"}", "3"), "valid");
	CHECK_STREQ(validate_msg("{\"type\": \"number\"}", "3.5"), "valid");
}

/* ---- numeric bounds ------------------------------------------------------- */

TEST(minimum_and_maximum_are_inclusive)
{
	const char *s = "{\"minimum\": 1, \"maximum\": 10}";
	CHECK_STREQ(validate_msg(s, "1"), "valid");
	CHECK_STREQ(validate_msg(s, "10"), "valid");
	CHECK_STREQ(validate_msg(s, "0"), "arguments: 0 is less than the minimum 1");
	CHECK_STREQ(validate_msg(s, "11"), "arguments: 11 is greater than the maximum 10");
	CHECK_STREQ(validate_msg(s, "0.5"), "arguments: 0.5 is less than the minimum 1");
	CHECK_STREQ(validate_msg(s, "10.25"), "arguments: 10.25 is greater than the maximum 10");
	CHECK_STREQ(validate_msg("{\"minimum\": 1.5}", "1"), "arguments: 1 is less than the minimum 1.5");
	CHECK_STREQ(validate_msg("{\"maximum\": 0.1}", "0.2"),
	            "arguments: 0.2 is greater than the maximum 0.1");
}

TEST(exclusive_bounds_reject_the_bound_itself)
{
	const char *s = "{\"exclusiveMinimum\": 1, \"exclusiveMaximum\": 10}";
	CHECK_STREQ(validate_msg(s, "2"), "valid");
	CHECK_STREQ(validate_msg(s, "1.0000001"), "valid");
	CHECK_STREQ(validate_msg(s, "1"), "arguments: 1 is not greater than the exclusiveMinimum 1");
	CHECK_STREQ(validate_msg(s, "1.0"), "arguments: 1 is not greater than the exclusiveMinimum 1");
	CHECK_STREQ(validate_msg(s, "10"), "arguments: 10 is not less than the exclusiveMaximum 10");
	CHECK_STREQ(validate_msg(s, "-3"), "arguments: -3 is not greater than the exclusiveMinimum 1");
}

TEST(bounds_ignore_values_that_are_not_numbers)
{
	CHECK_STREQ(validate_msg("{\"minimum\": 5, \"minLength\": 3, \"minItems\": 2}", "\"abc\""), "valid");
	CHECK_STREQ(validate_msg("{\"minimum\": 5, \"minLength\": 3, \"minItems\": 2}", "[1, 2]"), "valid");
	CHECK_STREQ(validate_msg("{\"minimum\": 5, \"minLength\": 3, \"minItems\": 2}", "7"), "valid");
}

TEST(big_integers_compare_exactly_at_the_int64_edges)
{
	/* As doubles these two bounds and values would all be 2^63. */
	CHECK_STREQ(validate_msg("{\"minimum\": 9223372036854775807}", "9223372036854775806"),
	            "arguments: 9223372036854775806 is less than the minimum 9223372036854775807");
	CHECK_STREQ(validate_msg("{\"maximum\": 9223372036854775806}", "9223372036854775807"),
	            "arguments: 9223372036854775807 is greater than the maximum 9223372036854775806");
	CHECK_STREQ(validate_msg("{\"maximum\": 9223372036854775807}", "9223372036854775807"), "valid");
	CHECK_STREQ(validate_msg("{\"minimum\": -9223372036854775808}", "-9223372036854775808"), "valid");
	CHECK_STREQ(validate_msg("{\"exclusiveMinimum\": -9223372036854775808}", "-9223372036854775808"),
	            "arguments: -9223372036854775808 is not greater than the exclusiveMinimum "
	            "-9223372036854775808");
	/* 9223372036854775808.0 is 2^63 exactly: above every json_int_t. */
	CHECK_STREQ(validate_msg("{\"exclusiveMaximum\": 9223372036854775808.0}", "9223372036854775807"),
	            "valid");
	CHECK_STREQ(validate_msg("{\"maximum\": 9223372036854775807}", "9223372036854775808.0"),
	            "arguments: 9.223372036854776e+18 is greater than the maximum 9223372036854775807");
	CHECK_STREQ(validate_msg("{\"minimum\": -9223372036854775808}", "-1e19"),
	            "arguments: -1e+19 is less than the minimum -9223372036854775808");
	/* 2^53 + 1 is not a double; compared with the real 2^53 it is still bigger. */
	CHECK_STREQ(validate_msg("{\"maximum\": 9007199254740992.0}", "9007199254740993"),
	            "arguments: 9007199254740993 is greater than the maximum 9007199254740992");
	CHECK_STREQ(validate_msg("{\"const\": 9007199254740992.0}", "9007199254740993"),
	            "arguments: 9007199254740993 is not the required value 9007199254740992.0");
	CHECK_STREQ(validate_msg("{\"type\": \"integer\", \"maximum\": 5}", "-9223372036854775808"), "valid");
}

/* ---- strings ---------------------------------------------------------------- */

TEST(string_length_counts_code_points_not_bytes)
{
	/* "héllo" is 6 bytes; "😀😀" is 8 bytes and 2 code points. */
	CHECK_STREQ(validate_msg("{\"maxLength\": 5}", "\"h\\u00e9llo\""), "valid");
	CHECK_STREQ(validate_msg("{\"maxLength\": 4}", "\"h\\u00e9llo\""),
	            "arguments: string is longer than the maxLength 4");
	CHECK_STREQ(validate_msg("{\"minLength\": 2, \"maxLength\": 2}", "\"\\ud83d\\ude00\\ud83d\\ude00\""),
	            "valid");
	CHECK_STREQ(validate_msg("{\"minLength\": 3}", "\"\\ud83d\\ude00\\ud83d\\ude00\""),
	            "arguments: string is shorter than the minLength 3");
	CHECK_STREQ(validate_msg("{\"properties\": {\"q\": {\"maxLength\": 200}}}",
	                         "{\"q\": \"" "0123456789012345678901234567890123456789012345678901234567890123456789"
	                         "0123456789012345678901234567890123456789012345678901234567890123456789"
	                         "0123456789012345678901234567890123456789012345678901234567890123456789\"}"),
	            "arguments.q: string is longer than the maxLength 200");
	CHECK_STREQ(validate_msg("{\"minLength\": 1}", "\"\""), "arguments: string is shorter than the minLength 1");
}

/* ---- patterns --------------------------------------------------------------- */

TEST(pattern_is_an_unanchored_search)
{
	CHECK_STREQ(validate_msg("{\"pattern\": \"b\"}", "\"abc\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^b\"}", "\"abc\""),
	            "arguments: \"abc\" does not match the pattern ^b");
	CHECK_STREQ(validate_msg("{\"pattern\": \"c$\"}", "\"abc\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^(ab|cd)+x?$\"}", "\"abcdx\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^a{2,3}$\"}", "\"aaaa\""),
	            "arguments: \"aaaa\" does not match the pattern ^a{2,3}$");
	CHECK_STREQ(validate_msg("{\"pattern\": \"\"}", "\"anything\""), "valid");
	/* The pattern applies to strings only. */
	CHECK_STREQ(validate_msg("{\"pattern\": \"^x$\"}", "5"), "valid");
}

TEST(pattern_that_does_not_compile_is_a_load_error)
{
	CHECK_STREQ(compile_msg("{\"properties\": {\"id\": {\"pattern\": \"(ab\"}}}"),
	            WHERE ".properties.id: bad \"pattern\": Unmatched ( or \\(");
	CHECK_STREQ(compile_msg("{\"pattern\": \"a{3,1}\"}"),
	            WHERE ": bad \"pattern\": Invalid content of \\{\\}");
	CHECK_STREQ(compile_msg("{\"pattern\": \"[abc\"}"), WHERE ": bad \"pattern\": a [ is not closed");
	CHECK_STREQ(compile_msg("{\"pattern\": \"abc\\\\\"}"),
	            WHERE ": bad \"pattern\": it ends with a backslash");
}

TEST(pattern_translates_d_w_s_and_their_negations)
{
	CHECK_STREQ(validate_msg("{\"pattern\": \"^\\\\d{3}$\"}", "\"123\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^\\\\d{3}$\"}", "\"12a\""),
	            "arguments: \"12a\" does not match the pattern ^\\d{3}$");
	/* In POSIX ERE "\d" would have meant a literal "d". */
	CHECK_STREQ(validate_msg("{\"pattern\": \"^\\\\d$\"}", "\"d\""),
	            "arguments: \"d\" does not match the pattern ^\\d$");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^\\\\D+$\"}", "\"ab\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^\\\\D+$\"}", "\"a1\""),
	            "arguments: \"a1\" does not match the pattern ^\\D+$");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^\\\\w+$\"}", "\"Ab_9\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^\\\\w+$\"}", "\"a-b\""),
	            "arguments: \"a-b\" does not match the pattern ^\\w+$");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^\\\\W$\"}", "\"-\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^a\\\\sb$\"}", "\"a\\tb\""), "valid");
	/* ECMA's \s includes the no-break space U+00A0. */
	CHECK_STREQ(validate_msg("{\"pattern\": \"^a\\\\sb$\"}", "\"a\\u00a0b\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^\\\\S+$\"}", "\"a b\""),
	            "arguments: \"a b\" does not match the pattern ^\\S+$");
	/* Inside a bracket expression the positive classes are spliced in. */
	CHECK_STREQ(validate_msg("{\"pattern\": \"^[\\\\d.]+$\"}", "\"1.5\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^[\\\\d.]+$\"}", "\"1,5\""),
	            "arguments: \"1,5\" does not match the pattern ^[\\d.]+$");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^[\\\\w-]+$\"}", "\"a-b_c\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^[^\\\\s]+$\"}", "\"a b\""),
	            "arguments: \"a b\" does not match the pattern ^[^\\s]+$");
}

TEST(pattern_rejects_escapes_it_cannot_map_exactly)
{
	CHECK_STREQ(compile_msg("{\"pattern\": \"\\\\bword\\\\b\"}"),
	            WHERE ": bad \"pattern\": unsupported escape \\b (supported: \\d \\D \\w \\W \\s \\S "
	            "and escaped punctuation)");
	CHECK_STREQ(compile_msg("{\"pattern\": \"\\\\x41\"}"),
	            WHERE ": bad \"pattern\": unsupported escape \\x (supported: \\d \\D \\w \\W \\s \\S "
	            "and escaped punctuation)");
	CHECK_STREQ(compile_msg("{\"pattern\": \"(a)\\\\1\"}"),
	            WHERE ": bad \"pattern\": unsupported escape \\1 (supported: \\d \\D \\w \\W \\s \\S "
	            "and escaped punctuation)");
	CHECK_STREQ(compile_msg("{\"pattern\": \"[\\\\D]\"}"),
	            WHERE ": bad \"pattern\": \\D inside [...] is not supported");
	CHECK_STREQ(compile_msg("{\"pattern\": \"[\\\\n]\"}"),
	            WHERE ": bad \"pattern\": unsupported escape \\n inside [...]");
	CHECK_STREQ(compile_msg("{\"pattern\": \"(?=a)b\"}"),
	            WHERE ": bad \"pattern\": lookaround and named groups are not supported");
	CHECK_STREQ(compile_msg("{\"pattern\": \"(?<y>a)\"}"),
	            WHERE ": bad \"pattern\": lookaround and named groups are not supported");
	CHECK_STREQ(compile_msg("{\"pattern\": \"[]\"}"),
	            WHERE ": bad \"pattern\": an empty [] or [^] is not supported");
	CHECK_STREQ(compile_msg("{\"pattern\": \"[z-a]\"}"),
	            WHERE ": bad \"pattern\": the range z-a is out of order");
	CHECK_STREQ(compile_msg("{\"pattern\": \"[a-\\\\d]\"}"),
	            WHERE ": bad \"pattern\": a range in [...] must end with a character, not a class");
	CHECK_STREQ(compile_msg("{\"pattern\": \"[\\u00e0-\\u00fc]\"}"),
	            WHERE ": bad \"pattern\": ranges of non-ASCII characters are not supported");
}

TEST(pattern_keeps_ecma_meaning_where_ere_differs)
{
	/* An escaped punctuation character is literal, never a GNU operator. */
	CHECK_STREQ(validate_msg("{\"pattern\": \"^a\\\\.b$\"}", "\"axb\""),
	            "arguments: \"axb\" does not match the pattern ^a\\.b$");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^a\\\\<$\"}", "\"a<\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^\\\\/\\\\-\\\\]$\"}", "\"/-]\""), "valid");
	/* "." is one code point and excludes line terminators. */
	CHECK_STREQ(validate_msg("{\"pattern\": \"^.$\"}", "\"\\u00e9\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^a.b$\"}", "\"a\\nb\""),
	            "arguments: \"a\\nb\" does not match the pattern ^a.b$");
	/* Non-capturing groups and lazy quantifiers keep their yes/no answer. */
	CHECK_STREQ(validate_msg("{\"pattern\": \"^(?:ab)+$\"}", "\"abab\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^a+?$\"}", "\"aa\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^xa+?$\"}", "\"x\""),
	            "arguments: \"x\" does not match the pattern ^xa+?$");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^a{2}?$\"}", "\"\""),
	            "arguments: \"\" does not match the pattern ^a{2}?$");
	/* A brace that is not a quantifier is literal, as in ECMA. */
	CHECK_STREQ(validate_msg("{\"pattern\": \"^a{,2}$\"}", "\"a{,2}\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^{x}$\"}", "\"{x}\""), "valid");
	/* "]", "^", "-" and "[" inside brackets mean themselves wherever they stand. */
	CHECK_STREQ(validate_msg("{\"pattern\": \"^[a\\\\]^[-]+$\"}", "\"a]^[-\""), "valid");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^[a\\\\]^[-]+$\"}", "\"b\""),
	            "arguments: \"b\" does not match the pattern ^[a\\]^[-]+$");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^[^\\\\]]$\"}", "\"]\""),
	            "arguments: \"]\" does not match the pattern ^[^\\]]$");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^[\\\\\\\\]$\"}", "\"\\\\\""), "valid");
	/* POSIX would read [[:digit:]] as a class; ECMA reads "[", ":", "d" ... then "]". */
	CHECK_STREQ(validate_msg("{\"pattern\": \"^[[:digit:]]$\"}", "\"5\""),
	            "arguments: \"5\" does not match the pattern ^[[:digit:]]$");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^[[:digit:]]$\"}", "\"g]\""), "valid");
	/* Non-ASCII literals work in and out of brackets. */
	CHECK_STREQ(validate_msg("{\"pattern\": \"^caf[\\u00e9e]$\"}", "\"caf\\u00e9\""), "valid");
}

TEST(pattern_source_limits_are_load_errors)
{
	char doc[1200];
	CHECK_STREQ(compile_msg_flags("{\"pattern\": \"a\\u0000b\"}", JSON_ALLOW_NUL),
	            WHERE ": \"pattern\" contains a NUL character");
	snprintf(doc, sizeof doc, "{\"pattern\": \"%01025d\"}", 0);
	CHECK_STREQ(compile_msg(doc), WHERE ": \"pattern\" is longer than 1024 bytes");
}

TEST(pattern_sees_the_whole_string_past_an_embedded_nul)
{
	json_t *doc = json_loads("{\"pattern\": \"^a\"}", 0, NULL);
	json_t *inst = json_stringn("x\0a", 3);
	json_t *inst2 = json_stringn("a\0x", 3);
	struct tg_error err = {{0}};
	struct schema *s = schema_compile(doc, WHERE, &err);
	json_t *inst3 = json_stringn("x\0ya", 4);
	json_t *doc2 = json_loads("{\"pattern\": \"a$\"}", 0, NULL);
	struct schema *s2 = schema_compile(doc2, WHERE, &err);

	CHECK(s != NULL && s2 != NULL);
	CHECK(schema_validate(s, inst, &err) == -1);
	CHECK_STREQ(err.msg, "arguments: \"x\\u0000a\" does not match the pattern ^a");
	CHECK(schema_validate(s, inst2, NULL) == 0);
	CHECK(schema_validate(s2, inst3, NULL) == 0);
	schema_free(s);
	schema_free(s2);
	json_decref(doc);
	json_decref(doc2);
	json_decref(inst);
	json_decref(inst2);
	json_decref(inst3);
}

/* ---- enum and const ------------------------------------------------------- */

TEST(enum_with_mixed_types_uses_json_schema_equality)
{
	const char *s = "{\"enum\": [\"a\", 1, null, true, {\"k\": [1]}, [2.5]]}";
	CHECK_STREQ(validate_msg(s, "\"a\""), "valid");
	CHECK_STREQ(validate_msg(s, "1"), "valid");
	CHECK_STREQ(validate_msg(s, "1.0"), "valid");
	CHECK_STREQ(validate_msg(s, "null"), "valid");
	CHECK_STREQ(validate_msg(s, "true"), "valid");
	CHECK_STREQ(validate_msg(s, "{\"k\": [1.0]}"), "valid");
	CHECK_STREQ(validate_msg(s, "[2.5]"), "valid");
	CHECK_STREQ(validate_msg(s, "\"b\""),
	            "arguments: \"b\" is not one of [\"a\",1,null,true,{\"k\":[1]},[2.5]]");
	CHECK_STREQ(validate_msg(s, "false"),
	            "arguments: false is not one of [\"a\",1,null,true,{\"k\":[1]},[2.5]]");
	CHECK_STREQ(validate_msg(s, "1.5"),
	            "arguments: 1.5 is not one of [\"a\",1,null,true,{\"k\":[1]},[2.5]]");
	CHECK_STREQ(validate_msg(s, "\"1\""),
	            "arguments: \"1\" is not one of [\"a\",1,null,true,{\"k\":[1]},[2.5]]");
	CHECK_STREQ(validate_msg(s, "{\"k\": [1], \"j\": 0}"),
	            "arguments: an object is not one of [\"a\",1,null,true,{\"k\":[1]},[2.5]]");
	CHECK_STREQ(validate_msg(s, "[2.5, 2.5]"),
	            "arguments: an array is not one of [\"a\",1,null,true,{\"k\":[1]},[2.5]]");
}

TEST(enum_listing_in_a_message_is_cut_short)
{
	char schema[2048], want[512];
	size_t o = (size_t)snprintf(schema, sizeof schema, "{\"enum\": [");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(schema + o, sizeof schema - o, "%s\"v%02d\"", i ? ", " : "", i);
	snprintf(schema + o, sizeof schema - o, "]}");
	/* 200 bytes of the compact listing: "[", 33 x "\"vNN\",", then one "\"". */
	o = (size_t)snprintf(want, sizeof want, "arguments: \"x\" is not one of [");
	for (int i = 0; i < 33; i++)
		o += (size_t)snprintf(want + o, sizeof want - o, "\"v%02d\",", i);
	strcat(want, "\"...");
	CHECK_STREQ(validate_msg(schema, "\"x\""), want);
}

TEST(const_compares_like_enum)
{
	CHECK_STREQ(validate_msg("{\"const\": 1}", "1.0"), "valid");
	CHECK_STREQ(validate_msg("{\"const\": 1}", "2"), "arguments: 2 is not the required value 1");
	CHECK_STREQ(validate_msg("{\"const\": \"fast\"}", "\"slow\""),
	            "arguments: \"slow\" is not the required value \"fast\"");
	CHECK_STREQ(validate_msg("{\"const\": null}", "null"), "valid");
	CHECK_STREQ(validate_msg("{\"const\": null}", "false"),
	            "arguments: false is not the required value null");
	CHECK_STREQ(validate_msg("{\"const\": {\"a\": [1, \"x\"]}}", "{\"a\": [1.0, \"x\"]}"), "valid");
	CHECK_STREQ(validate_msg("{\"const\": {\"a\": [1, \"x\"]}}", "{\"a\": [1, \"y\"]}"),
	            "arguments: an object is not the required value {\"a\":[1,\"x\"]}");
}

/* ---- objects ---------------------------------------------------------------- */

TEST(additional_properties_schema_validates_undeclared_members)
{
	const char *s = "{\"properties\": {\"a\": {\"type\": \"string\"}},"
	                " \"additionalProperties\": {\"type\": \"integer\"}}";
	CHECK_STREQ(validate_msg(s, "{\"a\": \"x\", \"b\": 1, \"c\": 2}"), "valid");
	CHECK_STREQ(validate_msg(s, "{\"a\": \"x\", \"b\": \"y\"}"),
	            "arguments.b: expected integer, got string");
	CHECK_STREQ(validate_msg(s, "{\"a\": 1}"), "arguments.a: expected string, got integer");
	CHECK_STREQ(validate_msg("{\"additionalProperties\": true}", "{\"z\": 1}"), "valid");
	CHECK_STREQ(validate_msg("{\"additionalProperties\": false}", "{}"), "valid");
	CHECK_STREQ(validate_msg("{\"additionalProperties\": false}", "{\"z\": 1}"),
	            "arguments: unexpected property \"z\"");
	/* Object keywords do not apply to other types. */
	CHECK_STREQ(validate_msg("{\"required\": [\"a\"], \"additionalProperties\": false}", "[1]"), "valid");
}

TEST(nested_paths_use_dots_for_members_and_brackets_for_elements)
{
	const char *s = "{\"properties\": {\"orders\": {\"type\": \"array\", \"items\":"
	                " {\"type\": \"object\", \"required\": [\"id\"],"
	                "  \"properties\": {\"id\": {\"type\": \"string\"},"
	                "                 \"lines\": {\"items\": {\"properties\": {\"qty\": {\"minimum\": 1}}}}}}}}}";
	CHECK_STREQ(validate_msg(s, "{\"orders\": [{\"id\": \"a\"}, {\"id\": 7}]}"),
	            "arguments.orders[1].id: expected string, got integer");
	CHECK_STREQ(validate_msg(s, "{\"orders\": [{\"id\": \"a\"}, {}]}"),
	            "arguments.orders[1]: missing required property \"id\"");
	CHECK_STREQ(validate_msg(s, "{\"orders\": [{\"id\": \"a\", \"lines\": [{\"qty\": 1}, {\"qty\": 0}]}]}"),
	            "arguments.orders[0].lines[1].qty: 0 is less than the minimum 1");
}

/* ---- arrays ----------------------------------------------------------------- */

TEST(items_applies_to_every_element)
{
	const char *s = "{\"properties\": {\"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}}}";
	CHECK_STREQ(validate_msg(s, "{\"tags\": []}"), "valid");
	CHECK_STREQ(validate_msg(s, "{\"tags\": [\"a\", \"b\"]}"), "valid");
	CHECK_STREQ(validate_msg(s, "{\"tags\": [\"a\", \"b\", 3]}"),
	            "arguments.tags[2]: expected string, got integer");
}

TEST(min_and_max_items_count_elements)
{
	const char *s = "{\"minItems\": 1, \"maxItems\": 2}";
	CHECK_STREQ(validate_msg(s, "[1]"), "valid");
	CHECK_STREQ(validate_msg(s, "[1, 2]"), "valid");
	CHECK_STREQ(validate_msg(s, "[]"), "arguments: array has fewer items than the minItems 1");
	CHECK_STREQ(validate_msg(s, "[1, 2, 3]"), "arguments: array has more items than the maxItems 2");
}

/* ---- echoed text ------------------------------------------------------------ */

TEST(echoed_strings_are_cut_to_64_bytes_of_whole_characters)
{
	char inst[256], want[512];
	json_t *m;

	/* 100 x "a": 64 are shown */
	memset(inst, 0, sizeof inst);
	inst[0] = '"';
	memset(inst + 1, 'a', 100);
	inst[101] = '"';
	snprintf(want, sizeof want, "arguments: \"%.64s\"... does not match the pattern ^b", inst + 1);
	CHECK_STREQ(validate_msg("{\"pattern\": \"^b\"}", inst), want);

	/* "a" + 40 x "é" (2 bytes each): 31 "é" fit after the "a", not 31.5 */
	strcpy(inst, "\"a");
	for (int i = 0; i < 40; i++)
		strcat(inst, "\xc3\xa9");
	strcat(inst, "\"");
	strcpy(want, "arguments: \"a");
	for (int i = 0; i < 31; i++)
		strcat(want, "\xc3\xa9");
	strcat(want, "\"... does not match the pattern ^b");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^b\"}", inst), want);
	m = json_string(result);  /* NULL when result is not valid UTF-8 */
	CHECK(m != NULL);
	json_decref(m);
}

TEST(echoed_text_escapes_quotes_and_control_characters)
{
	CHECK_STREQ(validate_msg("{\"maxLength\": 1, \"pattern\": \"^x\"}", "\"a\\\"b\\\\c\\u0001\\td\""),
	            "arguments: string is longer than the maxLength 1");
	CHECK_STREQ(validate_msg("{\"pattern\": \"^x\"}", "\"a\\\"b\\\\c\\u0001\\td\""),
	            "arguments: \"a\\\"b\\\\c\\u0001\\td\" does not match the pattern ^x");
	CHECK_STREQ(validate_msg("{\"additionalProperties\": false}", "{\"bad\\nkey\": 1}"),
	            "arguments: unexpected property \"bad\\nkey\"");
	CHECK_STREQ(validate_msg("{\"additionalProperties\": {\"type\": \"null\"}}", "{\"bad\\nkey\": 1}"),
	            "arguments.bad\\nkey: expected null, got integer");
}

TEST(a_long_unexpected_property_name_is_cut_and_the_message_stays_utf8)
{
	char inst[1024], want[512];
	size_t o = 0;
	json_t *m;

	o += (size_t)snprintf(inst + o, sizeof inst - o, "{\"");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(inst + o, sizeof inst - o, "\xe2\x82\xac");  /* € */
	snprintf(inst + o, sizeof inst - o, "\": 1}");
	o = (size_t)snprintf(want, sizeof want, "arguments: unexpected property \"");
	for (int i = 0; i < 21; i++)  /* 21 x 3 = 63 bytes */
		o += (size_t)snprintf(want + o, sizeof want - o, "\xe2\x82\xac");
	snprintf(want + o, sizeof want - o, "\"...");
	CHECK_STREQ(validate_msg("{\"additionalProperties\": false}", inst), want);
	m = json_string(result);
	CHECK(m != NULL);
	json_decref(m);
}

TEST(a_path_longer_than_the_message_is_cut_on_a_character_boundary)
{
	/* 8 levels of 60 x "€" names: far past TG_ERROR_MAX. */
	char name[200] = "";
	char *schema = malloc(8192), *inst = malloc(8192);
	size_t so = 0, io = 0;
	json_t *m;

	for (int i = 0; i < 60; i++)
		strcat(name, "\xe2\x82\xac");
	for (int i = 0; i < 8; i++) {
		so += (size_t)snprintf(schema + so, 8192 - so, "{\"properties\": {\"%s\": ", name);
		io += (size_t)snprintf(inst + io, 8192 - io, "{\"%s\": ", name);
	}
	so += (size_t)snprintf(schema + so, 8192 - so, "{\"type\": \"string\"}");
	io += (size_t)snprintf(inst + io, 8192 - io, "1");
	for (int i = 0; i < 8; i++) {
		so += (size_t)snprintf(schema + so, 8192 - so, "}}");
		io += (size_t)snprintf(inst + io, 8192 - io, "}");
	}
	validate_msg(schema, inst);
	CHECK(strncmp(result, "arguments.\xe2\x82\xac", 13) == 0);
	CHECK(strlen(result) < TG_ERROR_MAX);
	m = json_string(result);
	CHECK(m != NULL);
	json_decref(m);
	free(schema);
	free(inst);
}

/* ---- accessors -------------------------------------------------------------- */

TEST(has_property_walks_declared_properties)
{
	json_t *doc = json_loads("{\"properties\": {\"order_id\": {},"
	                         " \"addr\": {\"properties\": {\"zip\": {}}}},"
	                         " \"additionalProperties\": {\"properties\": {\"x\": {}}}}", 0, NULL);
	struct tg_error err;
	struct schema *s = schema_compile(doc, WHERE, &err);

	CHECK(s != NULL);
	CHECK(schema_has_property(s, "order_id"));
	CHECK(schema_has_property(s, "addr"));
	CHECK(schema_has_property(s, "addr.zip"));
	CHECK(!schema_has_property(s, "addr.city"));
	CHECK(!schema_has_property(s, "order_id.x"));
	CHECK(!schema_has_property(s, "addr."));
	CHECK(!schema_has_property(s, "x"));
	CHECK(!schema_has_property(s, ""));
	CHECK(!schema_has_property(s, "order"));
	schema_free(s);
	json_decref(doc);
}

TEST(document_is_the_original_and_outlives_the_callers_reference)
{
	json_t *doc = json_loads(refund_schema, 0, NULL);
	struct tg_error err;
	struct schema *s = schema_compile(doc, WHERE, &err);
	json_t *inst = json_loads("{\"order_id\": \"ab\", \"amount_cents\": 1}", 0, NULL);

	CHECK(s != NULL);
	CHECK(schema_document(s) == doc);
	/* The caller drops and even empties its copy: the schema is unaffected. */
	json_object_clear(doc);
	json_decref(doc);
	CHECK(json_object_size(schema_document(s)) == 0);
	CHECK(schema_validate(s, inst, &err) == -1);
	CHECK_STREQ(err.msg, "arguments.order_id: \"ab\" does not match the pattern ^[A-Z0-9-]{4,32}$");
	schema_free(s);
	schema_free(NULL);  /* like free(3) */
	json_decref(inst);
}

int main(void)
{
	RUN(refund_schema_accepts_a_well_formed_call);
	RUN(refund_schema_names_each_problem_by_its_argument_path);
	RUN(refund_schema_takes_a_whole_real_as_an_integer_but_not_a_fraction);
	RUN(unsupported_keyword_is_a_load_error_naming_its_location);
	RUN(schema_without_a_where_is_named_schema);
	RUN(a_schema_must_be_an_object_everywhere);
	RUN(every_supported_keyword_compiles);
	RUN(wrongly_typed_keyword_values_are_load_errors);
	RUN(counts_must_be_non_negative_integers);
	RUN(contradictory_bounds_are_load_errors);
	RUN(type_accepts_names_and_arrays_of_names_only);
	RUN(nesting_is_limited_to_32_schemas);
	RUN(each_type_accepts_its_values_and_names_the_mismatch);
	RUN(integer_and_number_follow_json_schema);
	RUN(minimum_and_maximum_are_inclusive);
	RUN(exclusive_bounds_reject_the_bound_itself);
	RUN(bounds_ignore_values_that_are_not_numbers);
	RUN(big_integers_compare_exactly_at_the_int64_edges);
	RUN(string_length_counts_code_points_not_bytes);
	RUN(pattern_is_an_unanchored_search);
	RUN(pattern_that_does_not_compile_is_a_load_error);
	RUN(pattern_translates_d_w_s_and_their_negations);
	RUN(pattern_rejects_escapes_it_cannot_map_exactly);
	RUN(pattern_keeps_ecma_meaning_where_ere_differs);
	RUN(pattern_source_limits_are_load_errors);
	RUN(pattern_sees_the_whole_string_past_an_embedded_nul);
	RUN(enum_with_mixed_types_uses_json_schema_equality);
	RUN(enum_listing_in_a_message_is_cut_short);
	RUN(const_compares_like_enum);
	RUN(additional_properties_schema_validates_undeclared_members);
	RUN(nested_paths_use_dots_for_members_and_brackets_for_elements);
	RUN(items_applies_to_every_element);
	RUN(min_and_max_items_count_elements);
	RUN(echoed_strings_are_cut_to_64_bytes_of_whole_characters);
	RUN(echoed_text_escapes_quotes_and_control_characters);
	RUN(a_long_unexpected_property_name_is_cut_and_the_message_stays_utf8);
	RUN(a_path_longer_than_the_message_is_cut_on_a_character_boundary);
	RUN(has_property_walks_declared_properties);
	RUN(document_is_the_original_and_outlives_the_callers_reference);
	return TEST_SUMMARY();
}
