/*
 * libFuzzer target: untrusted arguments validated against a schema that uses
 * every supported keyword (`make fuzz`).
 */
#include "schema.h"

#include <stdint.h>
#include <stdlib.h>

static struct schema *schema;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!schema) {
		json_t *doc = json_loads(
			"{\"type\":\"object\",\"properties\":{"
			"\"s\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":8,\"pattern\":\"^[a-z\\\\d]+$\"},"
			"\"n\":{\"type\":\"integer\",\"minimum\":-5,\"maximum\":100,\"exclusiveMaximum\":99},"
			"\"x\":{\"type\":[\"number\",\"null\"],\"exclusiveMinimum\":0.5},"
			"\"e\":{\"enum\":[\"a\",1,2.5,null,[1],{\"k\":true}]},"
			"\"c\":{\"const\":{\"a\":[1,2]}},"
			"\"a\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"boolean\"}},"
			"\"required\":[\"q\"],\"additionalProperties\":false},\"minItems\":1,\"maxItems\":3}},"
			"\"required\":[\"s\"],\"additionalProperties\":{\"type\":\"string\"}}", 0, NULL);
		struct tg_error err;
		schema = schema_compile(doc, "fuzz", &err);
		json_decref(doc);
		if (!schema)
			abort();
	}
	json_t *inst = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (inst) {
		struct tg_error err;
		schema_validate(schema, inst, &err);
		json_decref(inst);
	}
	return 0;
}
