/*
 * base64.c: strict standard base64 decoding (see base64.h).
 */
#include "base64.h"

#include <stdbool.h>

#include <sodium.h>

static bool in_alphabet(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

int base64_decode(unsigned char *bin, size_t cap, const char *b64, size_t len, size_t *bin_len)
{
	*bin_len = 0;
	for (size_t i = 0; i < len; i++)
		if (!in_alphabet((unsigned char)b64[i]))
			return -1;
	/* Where '=' may stand, and the zero bits, are libsodium's checks. */
	if (sodium_base642bin(bin, cap, b64, len, NULL, bin_len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return 0;
}
