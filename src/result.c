/*
 * result.c: building tools/call results (see result.h).
 */
#include "result.h"
#include "config.h"
#include "jsonrpc.h"
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTPUT_JSON_DEPTH 64   /* a tool's JSON output is untrusted too */

json_t *result_decision_meta(const char *decision, const char *reason, json_t *rules, uint64_t seq)
{
	json_t *first = json_array_size(rules) ? json_array_get(rules, 0) : NULL;
	return json_pack("{s:s, s:s, s:O?, s:O, s:I}", "decision", decision, "reason", reason,
	                 "rule", first, "rules", rules, "audit_seq", (json_int_t)seq);
}

json_t *result_refusal(const char *tool, const char *decision, const char *reason, json_t *rules,
                       uint64_t seq, uint64_t retry_after_ms)
{
	char text[700];
	snprintf(text, sizeof text, "toolgate refused the call to %s: %s", tool, reason);
	json_t *meta = result_decision_meta(decision, reason, rules, seq);
	if (retry_after_ms)
		json_object_set_new(meta, "retry_after_ms", json_integer((json_int_t)retry_after_ms));
	return json_pack("{s:[{s:s, s:o}], s:b, s:{s:o}}",
		"content", "type", "text", "text", json_string_lossy(text, strlen(text)),
		"isError", 1,
		"_meta", "toolgate/decision", meta);
}

static json_t *execution_meta(const struct execution *ex)
{
	return json_pack("{s:o, s:s, s:I, s:I, s:I, s:I, s:b, s:I}",
		"exit", ex->exit_no >= 0 ? json_integer(ex->exit_no) : json_null(), "status", ex->status,
		"duration_ms", (json_int_t)ex->duration_ms, "cpu_ms", (json_int_t)ex->cpu_ms,
		"stdout_bytes", (json_int_t)ex->out.total,
		"stderr_bytes", (json_int_t)ex->err.total,
		"truncated", ex->out.cut || ex->err.cut,
		"audit_seq", (json_int_t)ex->audit_seq);
}

/* The tool's stdout as its output schema's structuredContent; NULL and
   problem set when it is not. */
static json_t *structured_output(const struct tool *t, const struct captured *out,
                                 char *problem, size_t n)
{
	const char *buf = out->buf ? out->buf : "";
	json_error_t jerr;
	struct tg_error verr;
	json_t *structured = NULL;
	if (out->cut)
		snprintf(problem, n, "its output was cut at %zu bytes, so it is not the JSON its output "
		         "schema declares", out->len);
	else if (json_text_depth(buf, out->len, OUTPUT_JSON_DEPTH) > OUTPUT_JSON_DEPTH)
		snprintf(problem, n, "its output nests deeper than %d levels", OUTPUT_JSON_DEPTH);
	else if (!(structured = json_loadb(buf, out->len, JSON_REJECT_DUPLICATES, &jerr)))
		snprintf(problem, n, "its output is not JSON: %s", jerr.text);
	else if (schema_validate(t->output_schema, structured, &verr) != 0)
		snprintf(problem, n, "its output does not match its output schema: %.400s", verr.msg);
	if (problem[0]) {
		json_decref(structured);
		return NULL;
	}
	return structured;
}

json_t *result_of_tool(const struct tool *t, bool failed, const struct execution *ex,
                       json_t *decision_meta)
{
	const struct captured *out = &ex->out, *err = &ex->err;
	json_t *structured = NULL;
	char problem[TG_ERROR_MAX] = "";

	if (!failed && t->output_schema) {
		structured = structured_output(t, out, problem, sizeof problem);
		failed = structured == NULL;
	}

	/* The text: stdout as is on success; on failure a summary the model can
	   act on, then stderr and stdout. */
	size_t cap = out->len + err->len + 1024;
	char *text = malloc(cap);
	size_t n = 0;
	if (!text) {
		json_decref(structured);
		json_decref(decision_meta);
		return NULL;
	}
	if (!failed) {
		memcpy(text, out->buf ? out->buf : "", out->len);
		n = out->len;
	} else {
		n = (size_t)snprintf(text, cap, "%s failed: %s", t->name, problem[0] ? problem : ex->status);
		if (err->len) {
			n += (size_t)snprintf(text + n, cap - n, "\n--- stderr ---\n");
			memcpy(text + n, err->buf, err->len);
			n += err->len;
		}
		if (out->len) {
			n += (size_t)snprintf(text + n, cap - n, "\n--- stdout ---\n");
			memcpy(text + n, out->buf, out->len);
			n += out->len;
		}
	}
	if (out->cut)
		n += (size_t)snprintf(text + n, cap - n, "\n[toolgate: output cut at %zu of %llu bytes]",
		                      out->len, (unsigned long long)out->total);
	json_t *content = json_pack("[{s:s, s:o}]", "type", "text", "text", json_string_lossy(text, n));
	free(text);

	json_t *r = json_pack("{s:o, s:b, s:{s:o, s:o}}", "content", content, "isError", failed,
		"_meta", "toolgate/decision", decision_meta, "toolgate/execution", execution_meta(ex));
	if (structured)
		json_object_set_new(r, "structuredContent", structured);
	return r;
}
