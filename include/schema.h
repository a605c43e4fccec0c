/*
 * schema.h: the JSON Schema subset that tools.d input_schema/output_schema use.
 *
 * A schema is compiled once, when the configuration loads: every keyword is
 * checked (an unsupported keyword is an error naming its location), patterns
 * are compiled, and the result is immutable.  Validation of untrusted
 * arguments then never fails for reasons other than the instance itself.
 *
 * Supported validation keywords: type (string or array of strings), properties,
 * required, additionalProperties (boolean or schema), enum, const, minimum,
 * maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern,
 * items (single schema), minItems, maxItems.  Annotation keywords accepted and
 * ignored for validation: title, description, default, examples, readOnly,
 * writeOnly, $schema, $comment.
 */
#ifndef TOOLGATE_SCHEMA_H
#define TOOLGATE_SCHEMA_H

#include <stdbool.h>
#include <jansson.h>
#include "error.h"

struct schema;

/*
 * Compile doc.  `where` prefixes error messages, e.g. "tools.d/kb.json:
 * input_schema"; an error then reads
 * "tools.d/kb.json: input_schema.properties.q: unsupported keyword \"format\"".
 * doc is not retained (the schema keeps its own references).
 */
struct schema *schema_compile(json_t *doc, const char *where, struct tg_error *err);

/*
 * Validate instance; 0 when valid, else -1 with the first problem named by
 * its path from "arguments", e.g.
 * "arguments.amount_cents: 0 is less than the minimum 1" or
 * "arguments: missing required property \"order_id\"".
 */
int schema_validate(const struct schema *s, const json_t *instance, struct tg_error *err);

/* The document the schema was compiled from (borrowed; for tools/list). */
json_t *schema_document(const struct schema *s);

/* True when the dotted property path ("a.b") is declared by the schema. */
bool schema_has_property(const struct schema *s, const char *dotted_path);

/*
 * A copy of instance for the audit log: every value whose schema says
 * "writeOnly": true (at any depth: properties, additionalProperties,
 * items) is replaced by the string SCHEMA_REDACTED.  NULL when out of
 * memory.  The tool itself still receives the instance unchanged.
 */
#define SCHEMA_REDACTED "[REDACTED]"
json_t *schema_redact_write_only(const struct schema *s, const json_t *instance);

void schema_free(struct schema *s);

#endif
