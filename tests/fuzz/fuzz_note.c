/*
 * libFuzzer target: signed notes and checkpoints from elsewhere, which
 * `toolgate audit` verifies (`make fuzz`).  The input is tried as a signed
 * note (note_verify), as a checkpoint body (checkpoint_parse), and as text
 * that note_sign signs here with a fixed key, then with the input's lines
 * appended as further signature lines, so that the fuzzer reaches the
 * checks around a signature that verifies.  What is signed must verify to
 * the same text, and a checkpoint that parses must format back to its first
 * three lines.
 */
#include "note.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NAME "broker-1.example"

static struct ed25519_key key;

static void try_checkpoint(const char *text)
{
	char origin[256], again[NOTE_MAX_BYTES];
	uint64_t size;
	merkle_hash root;
	struct tg_error err;
	if (checkpoint_parse(text, origin, sizeof origin, &size, root, &err) < 0)
		return;
	if (checkpoint_format(origin, size, root, again, sizeof again) < 0 ||
	    strncmp(again, text, strlen(again)) != 0)
		abort();   /* parsed, yet not what checkpoint_format writes */
}

static void try_note(const char *note, size_t len)
{
	char *text = NULL;
	struct tg_error err;
	if (note_verify(note, len, NAME, key.pk, &text, &err) == 0)
		try_checkpoint(text);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		unsigned char seed[crypto_sign_SEEDBYTES] = "toolgate fuzz_note fixed seed";
		if (sodium_init() < 0 || crypto_sign_seed_keypair(key.pk, key.sk, seed) != 0)
			abort();
		keys_key_id(key.pk, key.key_id);
		ready = 1;
	}
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	try_note(s, size);
	try_checkpoint(s);

	struct tg_error err;
	char *note = note_sign(s, NAME, &key, &err);
	if (note) {
		char *text = NULL;
		size_t nlen = strlen(note);
		if (note_verify(note, nlen, NAME, key.pk, &text, &err) < 0 || strcmp(text, s) != 0)
			abort();   /* a note we signed must verify to the text signed */
		free(text);
		/* The input's lines again, as more signature lines after ours. */
		char *more = realloc(note, nlen + size + 1);
		if (more) {
			memcpy(more + nlen, s, size + 1);
			try_note(more, nlen + size);
			note = more;
		}
		free(note);
	}
	free(s);
	return 0;
}
