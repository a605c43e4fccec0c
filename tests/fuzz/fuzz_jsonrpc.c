/*
 * libFuzzer target: client bytes through framing and JSON-RPC parsing, the
 * first code that touches what a stranger sends (`make fuzz`).
 */
#include "framing.h"
#include "jsonrpc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct framer f = { .max = 4096 };
	const char *buf = (const char *)data;
	size_t off = 0;
	for (;;) {
		const char *line = NULL;
		size_t len = 0, used = 0;
		enum frame_kind k = framing_next(&f, buf + off, size - off, &line, &len, &used);
		off += used;
		if (k == FRAME_LINE) {
			struct jsonrpc_msg m;
			jsonrpc_parse(line, len, &m);
			if (m.kind == JSONRPC_INVALID) {
				size_t n;
				free(jsonrpc_error_line(m.id, m.error_code, m.error_message, NULL, &n));
			}
			jsonrpc_msg_clear(&m);
		} else if (k == FRAME_NEED_MORE) {
			break;
		}
	}
	json_t *s = json_string_lossy(buf, size);
	json_decref(s);
	return 0;
}
