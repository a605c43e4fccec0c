/*
 * libFuzzer target: what a stranger sends to --metrics-listen, through the
 * HTTP request parser and the router (`make fuzz`).  Every prefix is parsed
 * as the listener would see it arrive, and a verdict, once given, must not
 * change when more bytes come (the listener answers at the first one).
 */
#include "metrics_http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_request req;
	int first = 0;
	size_t step = size > 512 ? size / 64 : 1;
	for (size_t n = 0; n <= size; n += step) {
		int st = metrics_http_parse(buf, n, &req);
		if (st && !first)
			first = st;
		if (first && st != first && first != 200)
			abort();   /* an error verdict changed with more input */
		if (st == 200) {
			if (strlen(req.method) >= sizeof req.method || strlen(req.target) > METRICS_HTTP_MAX_TARGET)
				abort();
			int route = metrics_http_route(&req);
			size_t len;
			free(metrics_http_response(route, "x\n", 2, route == 200, &len));
		}
	}
	return 0;
}
