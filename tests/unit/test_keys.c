/*
 * test_keys.c: Ed25519 key files (keys.c): generation, loading, the mode
 * check, and interoperability with the stock `openssl` tool in both
 * directions (run by fork/exec, never through a shell).
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys.h"
#include "testlib.h"

static char tmpdir[256];

static void make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_keys.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static const char *tmp_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmpdir, name);
	return buf;
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0;
	if (f) {
		n = fread(buf, 1, cap - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return n;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(1);
	}
	fchmod(fd, mode);
	close(fd);
}

/* Run argv (searched in PATH); its stdout into out; returns the exit status. */
static int run(char *const argv[], char *out, size_t cap)
{
	int pipefd[2];
	if (pipe(pipefd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 2);
		close(pipefd[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(pipefd[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(pipefd[0]);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void hex(const unsigned char *bin, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", bin[i]);
}

/* A fresh key pair in the temp dir under `name`.key / `name`.pub. */
static int gen(const char *name, char *key, char *pub, struct tg_error *err)
{
	char n1[64], n2[64];
	snprintf(n1, sizeof n1, "%s.key", name);
	snprintf(n2, sizeof n2, "%s.pub", name);
	tmp_path(key, 512, n1);
	tmp_path(pub, 512, n2);
	return keys_generate(key, pub, err);
}

TEST(generate_writes_private_pkcs8_mode_0600_and_public_spki_mode_0644)
{
	char key[512], pub[512], buf[4096];
	struct tg_error err = {""};
	struct stat st;
	mode_t old = umask(0077);  /* the modes must not depend on the umask */
	CHECK(gen("modes", key, pub, &err) == 0);
	umask(old);
	CHECK_STREQ(err.msg, "");
	CHECK(stat(key, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600);
	CHECK(stat(pub, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644);
	read_file(key, buf, sizeof buf);
	CHECK(strncmp(buf, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
	read_file(pub, buf, sizeof buf);
	CHECK(strncmp(buf, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
}

TEST(sign_then_verify_roundtrip_and_any_change_fails)
{
	char key[512], pub[512];
	struct tg_error err;
	struct ed25519_key k, other;
	unsigned char pk[KEYS_PUBLIC_BYTES], sig[KEYS_SIG_BYTES];
	char msg[] = "{\"seq\":1}";

	CHECK(gen("rt", key, pub, &err) == 0);
	CHECK(keys_load_private(key, &k, &err) == 0);
	CHECK(keys_load_public(pub, pk, &err) == 0);
	CHECK(memcmp(pk, k.pk, sizeof pk) == 0);
	char id[17];
	keys_key_id(pk, id);
	CHECK_STREQ(k.key_id, id);
	CHECK(strlen(k.key_id) == 16);

	keys_sign(&k, msg, strlen(msg), sig);
	CHECK(keys_verify(pk, msg, strlen(msg), sig));
	msg[2] ^= 1;
	CHECK(!keys_verify(pk, msg, strlen(msg), sig));
	msg[2] ^= 1;
	sig[10] ^= 0x40;
	CHECK(!keys_verify(pk, msg, strlen(msg), sig));
	sig[10] ^= 0x40;
	CHECK(gen("rt2", key, pub, &err) == 0);
	CHECK(keys_load_private(key, &other, &err) == 0);
	CHECK(!keys_verify(other.pk, msg, strlen(msg), sig));
	CHECK(strcmp(other.key_id, k.key_id) != 0);
	keys_wipe(&k);
	keys_wipe(&other);
}

TEST(openssl_pkey_pubout_of_the_private_key_is_exactly_the_public_file)
{
	char key[512], pub[512], pem[4096], out[4096];
	struct tg_error err;
	CHECK(gen("interop", key, pub, &err) == 0);
	char *argv[] = { "openssl", "pkey", "-in", key, "-pubout", NULL };
	CHECK(run(argv, out, sizeof out) == 0);
	read_file(pub, pem, sizeof pem);
	CHECK_STREQ(out, pem);
}

TEST(openssl_pkeyutl_verifies_a_signature_made_by_keys_sign)
{
	char key[512], pub[512], msgp[512], sigp[512], out[4096];
	struct tg_error err;
	struct ed25519_key k;
	unsigned char sig[KEYS_SIG_BYTES];
	const char msg[] = "{\"seq\":1,\"event\":\"broker.start\",\"key_id\":\"x\"}";

	CHECK(gen("pkeyutl", key, pub, &err) == 0);
	CHECK(keys_load_private(key, &k, &err) == 0);
	keys_sign(&k, msg, strlen(msg), sig);
	write_file(tmp_path(msgp, sizeof msgp, "msg"), msg, strlen(msg), 0644);
	write_file(tmp_path(sigp, sizeof sigp, "sig"), sig, sizeof sig, 0644);
	char *argv[] = { "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
	                 "-in", msgp, "-sigfile", sigp, NULL };
	CHECK(run(argv, out, sizeof out) == 0);
	CHECK_STREQ(out, "Signature Verified Successfully\n");

	/* And openssl refuses it for a changed message. */
	write_file(msgp, "{\"seq\":2}", 9, 0644);
	CHECK(run(argv, out, sizeof out) != 0);
	CHECK_CONTAINS(out, "Signature Verification Failure");
	keys_wipe(&k);
}

TEST(key_generated_by_openssl_genpkey_loads_and_matches_its_public_key)
{
	char key[512], pub[512], out[4096];
	struct tg_error err = {""};
	struct ed25519_key k;
	unsigned char pk[KEYS_PUBLIC_BYTES];

	tmp_path(key, sizeof key, "ossl.key");
	tmp_path(pub, sizeof pub, "ossl.pub");
	char *gen_argv[] = { "openssl", "genpkey", "-algorithm", "ed25519", "-out", key, NULL };
	char *pub_argv[] = { "openssl", "pkey", "-in", key, "-pubout", "-out", pub, NULL };
	CHECK(run(gen_argv, out, sizeof out) == 0);
	CHECK(chmod(key, 0600) == 0);
	CHECK(run(pub_argv, out, sizeof out) == 0);
	CHECK(keys_load_private(key, &k, &err) == 0);
	CHECK_STREQ(err.msg, "");
	CHECK(keys_load_public(pub, pk, &err) == 0);
	CHECK(memcmp(pk, k.pk, sizeof pk) == 0);
	keys_wipe(&k);
}

/* RFC 8032 section 7.1, TEST 1, written as an OpenSSL PKCS#8 PEM. */
static const char rfc8032_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	"-----END PRIVATE KEY-----\n";

TEST(rfc8032_test_1_key_loads_with_its_public_key_key_id_and_signature)
{
	char key[512], pkhex[65], sighex[129];
	struct tg_error err = {""};
	struct ed25519_key k;
	unsigned char sig[KEYS_SIG_BYTES];

	write_file(tmp_path(key, sizeof key, "rfc8032.key"), rfc8032_pem, strlen(rfc8032_pem), 0600);
	CHECK(keys_load_private(key, &k, &err) == 0);
	CHECK_STREQ(err.msg, "");
	hex(k.pk, sizeof k.pk, pkhex);
	CHECK_STREQ(pkhex, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	/* sha256(pk) = 21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9 */
	CHECK_STREQ(k.key_id, "21fe31dfa154a261");
	keys_sign(&k, "", 0, sig);
	hex(sig, sizeof sig, sighex);
	CHECK_STREQ(sighex, "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	keys_wipe(&k);
}

TEST(private_key_open_to_group_or_others_is_refused_naming_the_mode)
{
	char key[512], pub[512];
	struct tg_error err;
	struct ed25519_key k;

	CHECK(gen("modecheck", key, pub, &err) == 0);
	char want[700];

	CHECK(chmod(key, 0644) == 0);
	CHECK(keys_load_private(key, &k, &err) == -1);
	snprintf(want, sizeof want, "%s: mode 0644 is too open (must not be readable by group or others)", key);
	CHECK_STREQ(err.msg, want);

	CHECK(chmod(key, 0604) == 0);
	CHECK(keys_load_private(key, &k, &err) == -1);
	snprintf(want, sizeof want, "%s: mode 0604 is too open (must not be readable by group or others)", key);
	CHECK_STREQ(err.msg, want);

	CHECK(chmod(key, 0620) == 0);
	CHECK(keys_load_private(key, &k, &err) == -1);
	snprintf(want, sizeof want, "%s: mode 0620 is too open (must not be writable by group or others)", key);
	CHECK_STREQ(err.msg, want);

	CHECK(chmod(key, 0601) == 0);
	CHECK(keys_load_private(key, &k, &err) == -1);
	snprintf(want, sizeof want, "%s: mode 0601 is too open (must not be accessible by group or others)", key);
	CHECK_STREQ(err.msg, want);

	CHECK(chmod(key, 0400) == 0);
	CHECK(keys_load_private(key, &k, &err) == 0);
	keys_wipe(&k);
}

TEST(private_key_that_is_not_a_regular_file_is_refused)
{
	char dir[512], fifo[512], want[700];
	struct tg_error err;
	struct ed25519_key k;

	CHECK(mkdir(tmp_path(dir, sizeof dir, "dir.key"), 0700) == 0);
	CHECK(keys_load_private(dir, &k, &err) == -1);
	snprintf(want, sizeof want, "%s: not a regular file", dir);
	CHECK_STREQ(err.msg, want);

	/* A FIFO must be refused without blocking on open. */
	CHECK(mkfifo(tmp_path(fifo, sizeof fifo, "fifo.key"), 0600) == 0);
	CHECK(keys_load_private(fifo, &k, &err) == -1);
	snprintf(want, sizeof want, "%s: not a regular file", fifo);
	CHECK_STREQ(err.msg, want);
}

TEST(generate_refuses_to_overwrite_an_existing_key_and_leaves_it_untouched)
{
	char key[512], pub[512], before[4096], after[4096], want[700];
	struct tg_error err;

	CHECK(gen("exists", key, pub, &err) == 0);
	read_file(key, before, sizeof before);
	CHECK(gen("exists", key, pub, &err) == -1);
	snprintf(want, sizeof want, "%s: already exists (will not overwrite a key file)", key);
	CHECK_STREQ(err.msg, want);
	read_file(key, after, sizeof after);
	CHECK_STREQ(after, before);
}

TEST(generate_with_an_existing_public_file_leaves_no_private_key_behind)
{
	char key[512], pub[512], want[700];
	struct tg_error err;
	struct stat st;

	tmp_path(key, sizeof key, "halfway.key");
	write_file(tmp_path(pub, sizeof pub, "halfway.pub"), "old\n", 4, 0644);
	CHECK(keys_generate(key, pub, &err) == -1);
	snprintf(want, sizeof want, "%s: already exists (will not overwrite a key file)", pub);
	CHECK_STREQ(err.msg, want);
	CHECK(stat(key, &st) == -1);
}

TEST(generate_into_a_missing_directory_names_the_file_and_errno)
{
	char key[512], pub[512], want[700];
	struct tg_error err;
	tmp_path(key, sizeof key, "no/such.key");
	tmp_path(pub, sizeof pub, "no/such.pub");
	CHECK(keys_generate(key, pub, &err) == -1);
	snprintf(want, sizeof want, "%s: cannot create: No such file or directory", key);
	CHECK_STREQ(err.msg, want);
}

TEST(generate_refuses_a_symlink_at_the_key_path)
{
	char key[512], pub[512], target[512];
	struct tg_error err;
	struct stat st;
	tmp_path(target, sizeof target, "symlink-target");
	tmp_path(key, sizeof key, "symlink.key");
	tmp_path(pub, sizeof pub, "symlink.pub");
	CHECK(symlink(target, key) == 0);
	CHECK(keys_generate(key, pub, &err) == -1);
	CHECK(stat(target, &st) == -1);  /* nothing written through the link */
	CHECK(stat(pub, &st) == -1);
}

TEST(non_ed25519_key_is_refused_naming_its_type)
{
	char key[512], out[4096], want[700];
	struct tg_error err;
	struct ed25519_key k;
	tmp_path(key, sizeof key, "x25519.key");
	char *argv[] = { "openssl", "genpkey", "-algorithm", "X25519", "-out", key, NULL };
	CHECK(run(argv, out, sizeof out) == 0);
	CHECK(chmod(key, 0600) == 0);
	CHECK(keys_load_private(key, &k, &err) == -1);
	snprintf(want, sizeof want, "%s: not an Ed25519 key (key type X25519)", key);
	CHECK_STREQ(err.msg, want);
}

TEST(garbage_and_encrypted_and_public_files_are_not_private_keys)
{
	char key[512], enc[512], pub[512], out[4096], want[700];
	struct tg_error err;
	struct ed25519_key k;

	write_file(tmp_path(key, sizeof key, "garbage.key"), "hello\n", 6, 0600);
	CHECK(keys_load_private(key, &k, &err) == -1);
	snprintf(want, sizeof want, "%s: not an unencrypted PEM private key", key);
	CHECK_STREQ(err.msg, want);

	/* Encrypted: refused, and OpenSSL must not prompt for a passphrase. */
	tmp_path(enc, sizeof enc, "enc.key");
	char *argv[] = { "openssl", "genpkey", "-algorithm", "ed25519", "-aes-128-cbc",
	                 "-pass", "pass:secret", "-out", enc, NULL };
	CHECK(run(argv, out, sizeof out) == 0);
	CHECK(chmod(enc, 0600) == 0);
	CHECK(keys_load_private(enc, &k, &err) == -1);
	snprintf(want, sizeof want, "%s: not an unencrypted PEM private key", enc);
	CHECK_STREQ(err.msg, want);

	CHECK(gen("pubonly", key, pub, &err) == 0);
	CHECK(chmod(pub, 0600) == 0);
	CHECK(keys_load_private(pub, &k, &err) == -1);
	snprintf(want, sizeof want, "%s: not an unencrypted PEM private key", pub);
	CHECK_STREQ(err.msg, want);
}

TEST(public_loader_refuses_a_private_key_and_a_missing_file)
{
	char key[512], pub[512], want[700];
	struct tg_error err;
	unsigned char pk[KEYS_PUBLIC_BYTES];

	CHECK(gen("pubcheck", key, pub, &err) == 0);
	CHECK(keys_load_public(key, pk, &err) == -1);
	snprintf(want, sizeof want, "%s: not a PEM public key", key);
	CHECK_STREQ(err.msg, want);

	tmp_path(pub, sizeof pub, "missing.pub");
	CHECK(keys_load_public(pub, pk, &err) == -1);
	snprintf(want, sizeof want, "%s: cannot open: No such file or directory", pub);
	CHECK_STREQ(err.msg, want);
}

TEST(oversized_key_file_is_refused)
{
	char key[512], want[700];
	static char big[70 * 1024];
	struct tg_error err;
	struct ed25519_key k;
	memset(big, 'A', sizeof big);
	write_file(tmp_path(key, sizeof key, "big.key"), big, sizeof big, 0600);
	CHECK(keys_load_private(key, &k, &err) == -1);
	snprintf(want, sizeof want, "%s: too large for a key file (71680 bytes)", key);
	CHECK_STREQ(err.msg, want);
}

TEST(wipe_clears_every_byte_of_the_key)
{
	char key[512], pub[512];
	struct tg_error err;
	struct ed25519_key k, zero;
	memset(&zero, 0, sizeof zero);
	CHECK(gen("wipe", key, pub, &err) == 0);
	CHECK(keys_load_private(key, &k, &err) == 0);
	CHECK(memcmp(&k, &zero, sizeof k) != 0);
	keys_wipe(&k);
	CHECK(memcmp(&k, &zero, sizeof k) == 0);
}

int main(void)
{
	make_tmpdir();
	RUN(generate_writes_private_pkcs8_mode_0600_and_public_spki_mode_0644);
	RUN(sign_then_verify_roundtrip_and_any_change_fails);
	RUN(openssl_pkey_pubout_of_the_private_key_is_exactly_the_public_file);
	RUN(openssl_pkeyutl_verifies_a_signature_made_by_keys_sign);
	RUN(key_generated_by_openssl_genpkey_loads_and_matches_its_public_key);
	RUN(rfc8032_test_1_key_loads_with_its_public_key_key_id_and_signature);
	RUN(private_key_open_to_group_or_others_is_refused_naming_the_mode);
	RUN(private_key_that_is_not_a_regular_file_is_refused);
	RUN(generate_refuses_to_overwrite_an_existing_key_and_leaves_it_untouched);
	RUN(generate_with_an_existing_public_file_leaves_no_private_key_behind);
	RUN(generate_into_a_missing_directory_names_the_file_and_errno);
	RUN(generate_refuses_a_symlink_at_the_key_path);
	RUN(non_ed25519_key_is_refused_naming_its_type);
	RUN(garbage_and_encrypted_and_public_files_are_not_private_keys);
	RUN(public_loader_refuses_a_private_key_and_a_missing_file);
	RUN(oversized_key_file_is_refused);
	RUN(wipe_clears_every_byte_of_the_key);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_SUMMARY();
}
