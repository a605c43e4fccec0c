/*
 * base64.h: standard base64 (RFC 4648 section 4, padded), read back from
 * untrusted text: the signatures and keys of audit records, the signature
 * lines of signed notes, checkpoint roots.  Writing is sodium_bin2base64.
 *
 * Each value has exactly one spelling: every byte is in the alphabet or is
 * final '=' padding, and the unused bits of the last character are zero.
 * libsodium's sodium_base642bin checks the padding and the bits, but 1.0.18
 * (Debian 12's) reads its input as signed char and takes every byte from
 * 0x80 up for the digit '/', so "\xc3\xbf==" and "//==" decode alike; the
 * alphabet is checked here first.  (paseto.c has its own base64url.)
 */
#ifndef TOOLGATE_BASE64_H
#define TOOLGATE_BASE64_H

#include <stddef.h>

/* Decode the len bytes at b64 into bin[cap]: 0 and *bin_len, or -1 (not
   canonical padded base64, or more than cap bytes). */
int base64_decode(unsigned char *bin, size_t cap, const char *b64, size_t len, size_t *bin_len);

#endif
