/*
 * keys.c: Ed25519 key files (see keys.h).
 *
 * The files are plain OpenSSL PEM (PKCS#8 private key, SubjectPublicKeyInfo
 * public key) so that an auditor can use `openssl pkey` and
 * `openssl pkeyutl -verify -rawin` on exactly the files the broker uses.
 * OpenSSL only reads and writes the files; the 32-byte seed is handed to
 * libsodium, which does all signing and verification.  On load, the public
 * key libsodium derives from the seed must equal the one OpenSSL reports, so
 * the two libraries can never silently disagree about which key is in use.
 *
 * The private key file is the one secret the broker keeps on disk: it is
 * created with O_EXCL|O_NOFOLLOW and mode 0600, and a key file that others
 * could read or write is refused, like ssh refuses a too-open identity file.
 */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#define SEED_BYTES 32
/* A PEM Ed25519 key is about 120 bytes; anything this big is not one. */
#define KEY_FILE_MAX (64 * 1024)

static int sodium_ready(struct tg_error *err)
{
	/* sodium_init is idempotent and cheap after the first call. */
	if (sodium_init() < 0)
		return tg_err(err, "libsodium failed to initialise");
	return 0;
}

/* OpenSSL would otherwise prompt on the terminal for an encrypted key. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Make the new directory entry itself durable, not only the file's data. */
static int fsync_parent_dir(const char *path, struct tg_error *err)
{
	char copy[PATH_MAX];
	if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
		return tg_err(err, "%s: path too long", path);
	const char *dir = dirname(copy);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return tg_err_errno(err, "%s: cannot open directory to sync it", dir);
	int rc = fsync(fd);
	int saved = errno;
	close(fd);
	if (rc < 0) {
		errno = saved;
		return tg_err_errno(err, "%s: fsync of directory failed", dir);
	}
	return 0;
}

/*
 * Create path (which must not exist) with exactly `mode` and contents buf.
 * On failure the file is removed again, so no half-written key is left.
 */
static int write_new_file(const char *path, mode_t mode, const void *buf, size_t len,
                          struct tg_error *err)
{
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return tg_err(err, "%s: already exists (will not overwrite a key file)", path);
		return tg_err_errno(err, "%s: cannot create", path);
	}
	/* The umask may have narrowed the mode; the file must be exactly `mode`. */
	if (fchmod(fd, mode) < 0) {
		tg_err_errno(err, "%s: fchmod failed", path);
		goto fail;
	}
	if (write_all(fd, buf, len) < 0) {
		tg_err_errno(err, "%s: write failed", path);
		goto fail;
	}
	if (fsync(fd) < 0) {
		tg_err_errno(err, "%s: fsync failed", path);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		tg_err_errno(err, "%s: close failed", path);
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(path);
	return -1;
}

/* The bytes a memory BIO holds, for writing them out in one go. */
static int bio_bytes(BIO *bio, const char **data, size_t *len)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);
	if (n <= 0 || !p)
		return -1;
	*data = p;
	*len = (size_t)n;
	return 0;
}

/* Derive libsodium's key pair from OpenSSL's, insisting they agree. */
static int key_from_evp(EVP_PKEY *pkey, const char *path, struct ed25519_key *key,
                        struct tg_error *err)
{
	unsigned char seed[SEED_BYTES], ossl_pk[KEYS_PUBLIC_BYTES];
	size_t seed_len = sizeof seed, pk_len = sizeof ossl_pk;
	int rc = -1;

	if (EVP_PKEY_get_raw_private_key(pkey, seed, &seed_len) != 1 || seed_len != SEED_BYTES ||
	    EVP_PKEY_get_raw_public_key(pkey, ossl_pk, &pk_len) != 1 || pk_len != KEYS_PUBLIC_BYTES) {
		tg_err(err, "%s: cannot extract the raw Ed25519 key", path);
		goto out;
	}
	if (crypto_sign_seed_keypair(key->pk, key->sk, seed) != 0) {
		tg_err(err, "%s: libsodium cannot derive a key pair from the seed", path);
		goto out;
	}
	if (sodium_memcmp(key->pk, ossl_pk, KEYS_PUBLIC_BYTES) != 0) {
		tg_err(err, "%s: the public key derived by libsodium differs from OpenSSL's", path);
		goto out;
	}
	keys_key_id(key->pk, key->key_id);
	rc = 0;
out:
	sodium_memzero(seed, sizeof seed);
	if (rc < 0)
		sodium_memzero(key, sizeof *key);
	ERR_clear_error();
	return rc;
}

int keys_generate(const char *key_path, const char *pub_path, struct tg_error *err)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *priv_bio = NULL, *pub_bio = NULL;
	struct ed25519_key check;
	const char *priv_pem, *pub_pem;
	size_t priv_len, pub_len;
	int rc = -1;

	if (sodium_ready(err) < 0)
		return -1;
	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1) {
		tg_err(err, "%s: OpenSSL failed to generate an Ed25519 key", key_path);
		goto out;
	}
	/* Refuse to write a key the signer would later reject on load. */
	if (key_from_evp(pkey, key_path, &check, err) < 0)
		goto out;
	keys_wipe(&check);

	/* secmem: the PEM text of the private key is wiped when the BIO is freed. */
	priv_bio = BIO_new(BIO_s_secmem());
	pub_bio = BIO_new(BIO_s_mem());
	if (!priv_bio || !pub_bio ||
	    PEM_write_bio_PrivateKey(priv_bio, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pub_bio, pkey) != 1 ||
	    bio_bytes(priv_bio, &priv_pem, &priv_len) < 0 ||
	    bio_bytes(pub_bio, &pub_pem, &pub_len) < 0) {
		tg_err(err, "%s: OpenSSL failed to encode the key as PEM", key_path);
		goto out;
	}
	if (write_new_file(key_path, 0600, priv_pem, priv_len, err) < 0)
		goto out;
	if (write_new_file(pub_path, 0644, pub_pem, pub_len, err) < 0) {
		/* Both files or neither: a lone half would block the next attempt. */
		unlink(key_path);
		goto out;
	}
	if (fsync_parent_dir(key_path, err) < 0 || fsync_parent_dir(pub_path, err) < 0) {
		unlink(key_path);
		unlink(pub_path);
		goto out;
	}
	rc = 0;
out:
	BIO_free(priv_bio);
	BIO_free(pub_bio);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/*
 * Read a small key file.  For a private key (`secret`), the file must be a
 * regular file that only its owner can access.  The caller wipes and frees
 * *out.
 */
static int read_key_file(const char *path, bool secret, char **out, size_t *out_len,
                         struct tg_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	/* O_NONBLOCK: a FIFO planted at the key path must not hang the broker. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return tg_err_errno(err, "%s: cannot open", path);
	if (fstat(fd, &st) < 0) {
		tg_err_errno(err, "%s: fstat failed", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		tg_err(err, "%s: not a regular file", path);
		goto fail;
	}
	if (secret && (st.st_mode & 077)) {
		unsigned mode = (unsigned)(st.st_mode & 07777);
		const char *what = (st.st_mode & 044) ? "readable" :
		                   (st.st_mode & 022) ? "writable" : "accessible";
		tg_err(err, "%s: mode %04o is too open (must not be %s by group or others)",
		       path, mode, what);
		goto fail;
	}
	if (st.st_size > KEY_FILE_MAX) {
		tg_err(err, "%s: too large for a key file (%lld bytes)", path, (long long)st.st_size);
		goto fail;
	}
	buf = malloc(KEY_FILE_MAX + 1);
	if (!buf) {
		tg_err(err, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, KEY_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tg_err_errno(err, "%s: read failed", path);
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > KEY_FILE_MAX) {
			tg_err(err, "%s: too large for a key file", path);
			goto fail;
		}
	}
	close(fd);
	*out = buf;
	*out_len = len;
	return 0;
fail:
	if (buf) {
		sodium_memzero(buf, KEY_FILE_MAX + 1);
		free(buf);
	}
	close(fd);
	return -1;
}

static int check_ed25519(EVP_PKEY *pkey, const char *path, struct tg_error *err)
{
	if (EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519)
		return 0;
	const char *type = EVP_PKEY_get0_type_name(pkey);
	return tg_err(err, "%s: not an Ed25519 key (key type %s)", path, type ? type : "unknown");
}

int keys_load_private(const char *path, struct ed25519_key *key, struct tg_error *err)
{
	char *pem = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = -1;

	memset(key, 0, sizeof *key);
	if (sodium_ready(err) < 0)
		return -1;
	if (read_key_file(path, true, &pem, &len, err) < 0)
		return -1;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		tg_err(err, "%s: out of memory", path);
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (!pkey) {
		tg_err(err, "%s: not an unencrypted PEM private key", path);
		goto out;
	}
	if (check_ed25519(pkey, path, err) < 0)
		goto out;
	rc = key_from_evp(pkey, path, key, err);
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	sodium_memzero(pem, KEY_FILE_MAX + 1);
	free(pem);
	ERR_clear_error();
	return rc;
}

int keys_load_public(const char *path, unsigned char pk[KEYS_PUBLIC_BYTES], struct tg_error *err)
{
	char *pem = NULL;
	size_t len = 0, pk_len = KEYS_PUBLIC_BYTES;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = -1;

	if (sodium_ready(err) < 0)
		return -1;
	if (read_key_file(path, false, &pem, &len, err) < 0)
		return -1;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		tg_err(err, "%s: out of memory", path);
		goto out;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	if (!pkey) {
		tg_err(err, "%s: not a PEM public key", path);
		goto out;
	}
	if (check_ed25519(pkey, path, err) < 0)
		goto out;
	if (EVP_PKEY_get_raw_public_key(pkey, pk, &pk_len) != 1 || pk_len != KEYS_PUBLIC_BYTES) {
		tg_err(err, "%s: cannot extract the raw Ed25519 public key", path);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	free(pem);
	ERR_clear_error();
	return rc;
}

/*
 * The functions below cannot report an error; a loader has normally run
 * sodium_init already, and calling it again is only a flag check.
 */
void keys_key_id(const unsigned char pk[KEYS_PUBLIC_BYTES], char out[17])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	int ready = sodium_init();
	(void)ready;
	crypto_hash_sha256(digest, pk, KEYS_PUBLIC_BYTES);
	sodium_bin2hex(out, 17, digest, 8);
}

void keys_sign(const struct ed25519_key *key, const void *msg, size_t len,
               unsigned char sig[KEYS_SIG_BYTES])
{
	int ready = sodium_init();
	(void)ready;
	crypto_sign_detached(sig, NULL, msg, len, key->sk);
}

bool keys_verify(const unsigned char pk[KEYS_PUBLIC_BYTES], const void *msg, size_t len,
                 const unsigned char sig[KEYS_SIG_BYTES])
{
	int ready = sodium_init();
	(void)ready;
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

void keys_wipe(struct ed25519_key *key)
{
	sodium_memzero(key, sizeof *key);
}
