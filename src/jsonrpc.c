/*
 * jsonrpc.c: parsing and serializing JSON-RPC 2.0 lines (see jsonrpc.h).
 *
 * Limits are checked before jansson sees the bytes: nesting depth is counted
 * by a single pass that skips string contents, so a hostile line of a
 * million '[' costs one scan, not a deep recursion.
 */
#include "jsonrpc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deepest nesting of objects/arrays in the text, ignoring string contents. */
int json_text_depth(const char *s, size_t len, int limit)
{
	int depth = 0, max = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
			if (max > limit)
				return max;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return max;
}

static void invalid(struct jsonrpc_msg *m, int code, const char *fmt, const char *arg)
{
	m->kind = JSONRPC_INVALID;
	m->error_code = code;
	snprintf(m->error_message, sizeof m->error_message, fmt, arg ? arg : "");
}

void jsonrpc_parse(const char *line, size_t len, struct jsonrpc_msg *m)
{
	memset(m, 0, sizeof *m);
	if (json_text_depth(line, len, JSONRPC_MAX_DEPTH) > JSONRPC_MAX_DEPTH) {
		char lim[16];
		snprintf(lim, sizeof lim, "%d", JSONRPC_MAX_DEPTH);
		invalid(m, JSONRPC_PARSE_ERROR, "Parse error: nesting deeper than %s levels", lim);
		return;
	}
	json_error_t jerr;
	m->root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!m->root) {
		char detail[200];
		snprintf(detail, sizeof detail, "%s at column %d", jerr.text, jerr.column);
		invalid(m, JSONRPC_PARSE_ERROR, "Parse error: %s", detail);
		return;
	}
	if (json_is_array(m->root)) {
		invalid(m, JSONRPC_INVALID_REQUEST, "Invalid Request: batches are not supported%s", NULL);
		return;
	}
	if (!json_is_object(m->root)) {
		invalid(m, JSONRPC_INVALID_REQUEST, "Invalid Request: a message must be a JSON object%s", NULL);
		return;
	}
	json_t *id = json_object_get(m->root, "id");
	if (id && (json_is_string(id) || json_is_integer(id)))
		m->id = id;
	json_t *v = json_object_get(m->root, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
		invalid(m, JSONRPC_INVALID_REQUEST, "Invalid Request: \"jsonrpc\" must be \"2.0\"%s", NULL);
		return;
	}
	if (id && !m->id) {
		invalid(m, JSONRPC_INVALID_REQUEST, "Invalid Request: \"id\" must be a string or an integer%s", NULL);
		return;
	}
	json_t *method = json_object_get(m->root, "method");
	if (!method) {
		if (m->id && (json_object_get(m->root, "result") || json_object_get(m->root, "error"))) {
			m->kind = JSONRPC_RESPONSE;
			return;
		}
		invalid(m, JSONRPC_INVALID_REQUEST, "Invalid Request: missing \"method\"%s", NULL);
		return;
	}
	if (!json_is_string(method)) {
		invalid(m, JSONRPC_INVALID_REQUEST, "Invalid Request: \"method\" must be a string%s", NULL);
		return;
	}
	m->method = json_string_value(method);
	json_t *params = json_object_get(m->root, "params");
	if (params && !json_is_object(params)) {
		invalid(m, JSONRPC_INVALID_PARAMS, "Invalid params: \"params\" must be an object%s", NULL);
		return;
	}
	if (!params) {
		params = json_object();
		json_object_set_new(m->root, "params", params);
	}
	m->params = params;
	m->kind = m->id ? JSONRPC_REQUEST : JSONRPC_NOTIFICATION;
}

void jsonrpc_msg_clear(struct jsonrpc_msg *m)
{
	json_decref(m->root);
	memset(m, 0, sizeof *m);
}

static char *dump_line(json_t *obj, size_t *len)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}

char *jsonrpc_result_line(const json_t *id, json_t *result, size_t *len)
{
	json_t *o = json_object();
	json_object_set_new(o, "jsonrpc", json_string("2.0"));
	json_object_set_new(o, "id", id ? json_deep_copy(id) : json_null());
	json_object_set_new(o, "result", result ? result : json_object());
	return dump_line(o, len);
}

char *jsonrpc_error_line(const json_t *id, int code, const char *message, json_t *data, size_t *len)
{
	json_t *e = json_object();
	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(e, "message", json_string_lossy(message, strlen(message)));
	if (data)
		json_object_set_new(e, "data", data);
	json_t *o = json_object();
	json_object_set_new(o, "jsonrpc", json_string("2.0"));
	json_object_set_new(o, "id", id ? json_deep_copy(id) : json_null());
	json_object_set_new(o, "error", e);
	return dump_line(o, len);
}

char *jsonrpc_notification_line(const char *method, json_t *params, size_t *len)
{
	json_t *o = json_object();
	json_object_set_new(o, "jsonrpc", json_string("2.0"));
	json_object_set_new(o, "method", json_string(method));
	json_object_set_new(o, "params", params ? params : json_object());
	return dump_line(o, len);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned c = s[0];
	size_t n;
	unsigned min;
	if (c < 0x80)
		return 1;
	else if ((c & 0xE0) == 0xC0) { n = 2; min = 0x80; c &= 0x1F; }
	else if ((c & 0xF0) == 0xE0) { n = 3; min = 0x800; c &= 0x0F; }
	else if ((c & 0xF8) == 0xF0) { n = 4; min = 0x10000; c &= 0x07; }
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	return n;
}

json_t *json_string_lossy(const char *bytes, size_t len)
{
	const unsigned char *s = (const unsigned char *)bytes;
	size_t i = 0;
	while (i < len) {
		size_t n = utf8_seq(s + i, len - i);
		if (!n)
			break;
		i += n;
	}
	if (i == len)
		return json_stringn(bytes, len);
	/* Worst case every byte becomes the 3-byte U+FFFD. */
	char *out = malloc(len * 3 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (i = 0; i < len;) {
		size_t n = utf8_seq(s + i, len - i);
		if (n) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	json_t *j = json_stringn(out, o);
	free(out);
	return j;
}
