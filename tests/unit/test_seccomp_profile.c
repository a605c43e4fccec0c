/*
 * test_seccomp_profile.c: the OCI seccomp profile compiler (src/seccomp_profile.c)
 * and the shipped profiles in sandbox/.
 *
 * Parse errors are checked by their exact text.  Behaviour is checked for
 * real: a forked child sets no_new_privs, installs the compiled program and
 * then either makes one system call and reports its errno through its exit
 * status, or execs a real program.  The composed filter is checked the same
 * way with the test process as the broker on the other end of the notify
 * listener, answering each refusal as seccomp_program_decide says.  The filter is installed only in forked
 * children that exec or _exit right away, because a sanitizer runtime in
 * the test process itself needs calls the profiles refuse.
 *
 * Runs from the repository root (the profiles are read as sandbox/NAME.json).
 */
#include "seccomp_profile.h"
#include "testlib.h"
#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_ARCH "amd64"
#define OTHER_ARCH "arm64"
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH "arm64"
#define OTHER_ARCH "amd64"
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#endif

static struct seccomp_program *compile_text(const char *text, struct tg_error *err)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		snprintf(err->msg, sizeof err->msg, "test JSON does not parse: %s", jerr.text);
		return NULL;
	}
	struct seccomp_program *p = seccomp_profile_compile(doc, "t", "sandbox/t.json", err);
	json_decref(doc);
	return p;
}

/* The error a profile text gives, or "" when it compiles. */
static const char *compile_error(const char *text)
{
	static struct tg_error err;
	err.msg[0] = '\0';
	struct seccomp_program *p = compile_text(text, &err);
	if (p) {
		seccomp_program_free(p);
		return "";
	}
	return err.msg;
}

static struct seccomp_program *load_profile(const char *name)
{
	char path[64];
	struct tg_error err = { "" };
	snprintf(path, sizeof path, "sandbox/%s.json", name);
	struct seccomp_program *p = seccomp_profile_load(path, name, &err);
	if (!p)
		fprintf(stderr, "    loading %s: %s\n", path, err.msg);
	return p;
}

/*
 * Leave a sandboxed child with the bare system call: _exit() is noreturn,
 * and before such calls a sanitizer runtime makes calls of its own
 * (sigaltstack) that a profile may refuse, dying with an exit status that
 * could pass for an errno.
 */
static void child_exit(int code)
{
	/* Deliberately not marked noreturn, or the compiler would add the hook. */
	syscall(SYS_exit_group, code);
}

#define CHILD_INSTALL_FAILED 250
#define ERRNO_EXIT_BASE 64     /* a probe child exits 64 + errno */

/* A killed child must not leave a core file in the tree. */
static void child_enter_sandbox(const struct seccomp_program *p)
{
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || seccomp_program_install(p) != 0)
		child_exit(CHILD_INSTALL_FAILED);
}

/*
 * The test runs as root in the host's namespaces: every probe must be
 * harmless should the filter ever let it through, so the calls aim at a
 * path that does not exist or a descriptor that is not open, and the
 * distinct errno tells "refused" from "got through".
 */
#define NO_SUCH_PATH "/nonexistent/toolgate-seccomp-probe"
#define NOT_AN_FD 999

#define PROBE_BROKEN 1000
/*
 * Make one system call under p in a forked child.  Returns 0 when it
 * succeeded, its errno when it failed, -SIGNAL when the child was killed,
 * and PROBE_BROKEN for anything else (install failed, odd exit status).
 */
static int probe(const struct seccomp_program *p, long nr, long a0, long a1, long a2, long a3,
                 long a4, long a5)
{
	pid_t pid = fork();
	if (pid == 0) {
		child_enter_sandbox(p);
		long r = syscall(nr, a0, a1, a2, a3, a4, a5);
		/* A clone that got through returns 0 in the new process too. */
		child_exit(r == -1 ? ERRNO_EXIT_BASE + (errno < 150 ? errno : 150) : 0);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return PROBE_BROKEN;
	/* Reap whatever a wrongly allowed clone created. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	int code = WEXITSTATUS(status);
	if (code == 0)
		return 0;
	if (code > ERRNO_EXIT_BASE && code < CHILD_INSTALL_FAILED)
		return code - ERRNO_EXIT_BASE;
	fprintf(stderr, "    probe of syscall %ld: child exited %d\n", nr, code);
	return PROBE_BROKEN;
}

#define PROBE0(p, nr) probe(p, nr, 0, 0, 0, 0, 0, 0)
#define PROBE1(p, nr, a) probe(p, nr, (long)(a), 0, 0, 0, 0, 0)
#define PROBE2(p, nr, a, b) probe(p, nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define PROBE3(p, nr, a, b, c) probe(p, nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)

struct run {
	int status;
	char out[8192];
	char errout[4096];
};

static void read_all(int fd, char *buf, size_t size)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (n += (size_t)r) == size - 1)
			break;
	}
	buf[n] = '\0';
	close(fd);
}

/* Exec argv under p with `input` on stdin; stdout and stderr captured. */
static void run_program(const struct seccomp_program *p, char *const argv[], const char *input,
                        struct run *r)
{
	int in[2], out[2], errp[2];
	memset(r, 0, sizeof *r);
	r->status = -1;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		return;
	pid_t pid = fork();
	if (pid == 0) {
		static char *const envp[] = { "PATH=/usr/bin:/bin", "LANG=C", "HOME=/", NULL };
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		child_enter_sandbox(p);
		execve(argv[0], argv, envp);
		child_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	if (input && write(in[1], input, strlen(input)) != (ssize_t)strlen(input))
		fprintf(stderr, "    short write to the child's stdin\n");
	close(in[1]);
	read_all(out[0], r->out, sizeof r->out);
	read_all(errp[0], r->errout, sizeof r->errout);
	if (pid > 0)
		waitpid(pid, &r->status, 0);
	if (r->status != 0)
		fprintf(stderr, "    %s: status %#x, stderr: %s\n", argv[0], r->status, r->errout);
}

/* ---- parse errors --------------------------------------------------------- */

TEST(unknown_entry_key_is_an_error_naming_entry_and_key)
{
	CHECK_STREQ(compile_error(
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		" {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		" {\"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		" {\"names\": [\"close\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		" {\"names\": [\"exit\"], \"acton\": \"SCMP_ACT_ALLOW\"}]}"),
		"sandbox/t.json: syscalls[3].acton: unknown key");
}

TEST(unknown_top_level_key_is_an_error)
{
	CHECK_STREQ(compile_error("{\"defaultActon\": \"SCMP_ACT_ALLOW\"}"),
	            "sandbox/t.json: defaultActon: unknown key");
}

TEST(unknown_key_in_args_includes_and_archmap_is_an_error)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"dup\"], \"action\": \"SCMP_ACT_LOG\","
		"\"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\", \"valueThree\": 2}]}]}"),
		"sandbox/t.json: syscalls[0].args[0].valueThree: unknown key");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"dup\"], \"action\": \"SCMP_ACT_LOG\", \"includes\": {\"capabilities\": []}}]}"),
		"sandbox/t.json: syscalls[0].includes.capabilities: unknown key");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": ["
		"{\"architecture\": \"SCMP_ARCH_X86_64\", \"subArches\": []}]}"),
		"sandbox/t.json: archMap[0].subArches: unknown key");
}

TEST(unknown_action_is_an_error_quoting_it)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"dup\"], \"action\": \"SCMP_ACT_DENY\"}]}"),
		"sandbox/t.json: syscalls[0].action: unknown action \"SCMP_ACT_DENY\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"allow\"}"),
	            "sandbox/t.json: defaultAction: unknown action \"allow\"");
}

TEST(notify_action_is_refused_because_no_agent_runs)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}"),
		"sandbox/t.json: syscalls[0].action: SCMP_ACT_NOTIFY needs a seccomp notify agent, "
		"which toolgate does not run");
}

TEST(unknown_operator_is_an_error_quoting_it)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"dup\"], \"action\": \"SCMP_ACT_LOG\","
		"\"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_MASKED_NE\"}]}]}"),
		"sandbox/t.json: syscalls[0].args[0].op: unknown operator \"SCMP_CMP_MASKED_NE\"");
}

TEST(argument_index_above_5_is_an_error)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"dup\"], \"action\": \"SCMP_ACT_LOG\", \"args\": ["
		"{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
		"{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}"),
		"sandbox/t.json: syscalls[0].args[1].index: must be an integer between 0 and 5");
}

TEST(wrong_types_are_errors_naming_the_field)
{
	CHECK_STREQ(compile_error("[]"), "sandbox/t.json: must be a JSON object");
	CHECK_STREQ(compile_error("{\"defaultAction\": 1}"),
	            "sandbox/t.json: defaultAction: must be a string");
	CHECK_STREQ(compile_error("{\"syscalls\": []}"), "sandbox/t.json: defaultAction: missing");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}"),
	            "sandbox/t.json: syscalls: must be an array");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\"read\"]}"),
	            "sandbox/t.json: syscalls[0]: must be an object");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": \"read\", \"action\": \"SCMP_ACT_LOG\"}]}"),
		"sandbox/t.json: syscalls[0].names: must be a non-empty array of strings");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [], \"action\": \"SCMP_ACT_LOG\"}]}"),
		"sandbox/t.json: syscalls[0].names: must be a non-empty array of strings");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"read\", 3], \"action\": \"SCMP_ACT_LOG\"}]}"),
		"sandbox/t.json: syscalls[0].names[1]: must be a string");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"action\": \"SCMP_ACT_LOG\"}]}"),
		"sandbox/t.json: syscalls[0].names: missing");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": \"EPERM\"}]}"),
		"sandbox/t.json: syscalls[0].errnoRet: must be an integer between 0 and 4095");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 5000}"),
	            "sandbox/t.json: defaultErrnoRet: must be an integer between 0 and 4095");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"dup\"], \"action\": \"SCMP_ACT_LOG\","
		"\"args\": [{\"index\": 0, \"value\": \"1\", \"op\": \"SCMP_CMP_EQ\"}]}]}"),
		"sandbox/t.json: syscalls[0].args[0].value: must be an unsigned integer");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"dup\"], \"action\": \"SCMP_ACT_LOG\","
		"\"args\": [{\"index\": 0, \"value\": 1, \"valueTwo\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]}"),
		"sandbox/t.json: syscalls[0].args[0].valueTwo: must be an unsigned integer");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"dup\"], \"action\": \"SCMP_ACT_LOG\", \"args\": {}}]}"),
		"sandbox/t.json: syscalls[0].args: must be an array");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"dup\"], \"action\": \"SCMP_ACT_LOG\", \"args\": [{\"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}"),
		"sandbox/t.json: syscalls[0].args[0].index: missing");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"dup\"], \"action\": \"SCMP_ACT_LOG\", \"excludes\": {\"caps\": \"CAP_SYS_ADMIN\"}}]}"),
		"sandbox/t.json: syscalls[0].excludes.caps: must be an array of strings");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"dup\"], \"action\": \"SCMP_ACT_LOG\", \"includes\": {\"minKernel\": \"4\"}}]}"),
		"sandbox/t.json: syscalls[0].includes.minKernel: must be a kernel version like \"4.8\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"dup\"], \"action\": \"SCMP_ACT_LOG\", \"comment\": 7}]}"),
		"sandbox/t.json: syscalls[0].comment: must be a string");
}

TEST(errnoret_only_goes_with_errno_and_trace)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}"),
	            "sandbox/t.json: defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		"{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"errnoRet\": 1}]}"),
		"sandbox/t.json: syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 7}]}"), "");
}

TEST(name_and_names_together_are_an_error_and_legacy_name_alone_works)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"name\": \"read\", \"names\": [\"write\"], \"action\": \"SCMP_ACT_LOG\"}]}"),
		"sandbox/t.json: syscalls[0]: has both name and names");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"name\": \"read\", \"action\": \"SCMP_ACT_LOG\"}]}"), "");
}

TEST(architecture_names_are_checked_and_lists_exclusive)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\","
		"\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_Z80\"]}"),
		"sandbox/t.json: architectures[1]: unknown architecture \"SCMP_ARCH_Z80\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [],"
		"\"archMap\": []}"),
		"sandbox/t.json: archMap: cannot be combined with architectures");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": ["
		"{\"architecture\": \"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X87\"]}]}"),
		"sandbox/t.json: archMap[0].subArchitectures[0]: unknown architecture \"SCMP_ARCH_X87\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": ["
		"{\"subArchitectures\": null}]}"),
		"sandbox/t.json: archMap[0].architecture: missing");
	/* Names libseccomp 2.5 does not know are still valid profile text. */
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": ["
		"{\"architecture\": \"SCMP_ARCH_LOONGARCH64\", \"subArchitectures\": null}]}"), "");
}

TEST(listener_path_is_refused_and_known_flags_accepted)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\","
		"\"listenerPath\": \"/run/agent.sock\", \"listenerMetadata\": \"x\"}"),
		"sandbox/t.json: listenerPath: seccomp notify agents are not supported (toolgate runs none)");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"\"}"), "");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": ["
		"\"SECCOMP_FILTER_FLAG_TSYNC\", \"SECCOMP_FILTER_FLAG_LOG\", "
		"\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\", \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]}"), "");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_FAST\"]}"),
	            "sandbox/t.json: flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_FAST\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}"),
	            "sandbox/t.json: flags[0]: seccomp notify listeners are not supported");
}

TEST(control_characters_in_untrusted_text_do_not_reach_the_message)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_\\nALLOW\"}"),
	            "sandbox/t.json: defaultAction: unknown action \"SCMP_ACT_?ALLOW\"");
}

TEST(a_rule_that_libseccomp_would_silently_drop_is_an_error)
{
	/* An unconditional allow overrides any conditional rule in libseccomp,
	 * so this "deny TIOCSTI" would vanish without a word. */
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		"{\"names\": [\"read\", \"ioctl\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		"{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_KILL_PROCESS\","
		" \"args\": [{\"index\": 1, \"value\": 21522, \"op\": \"SCMP_CMP_EQ\"}]}]}"),
		"sandbox/t.json: syscalls[1]: \"ioctl\" conflicts with syscalls[0]: an unconditional rule "
		"and a rule with another action for the same call cannot both take effect");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 5},"
		"{\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 6}]}"),
		"sandbox/t.json: syscalls[1]: \"dup\" conflicts with syscalls[0]: an unconditional rule "
		"and a rule with another action for the same call cannot both take effect");
	/* The same action twice, or a skipped entry, is no conflict. */
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		"{\"names\": [\"read\", \"write\", \"execve\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		"{\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		"{\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ALLOW\","
		" \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
		"{\"names\": [\"dup\"], \"action\": \"SCMP_ACT_KILL\", \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}"),
		"");
}

TEST(profile_is_one_pass_so_a_typo_in_a_skipped_entry_is_still_an_error)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoret\": 1,"
		" \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}"),
		"sandbox/t.json: syscalls[0].errnoret: unknown key");
}

/* ---- loading files ------------------------------------------------------- */

TEST(load_names_the_file_on_open_size_and_json_errors)
{
	struct tg_error err = { "" };
	CHECK(seccomp_profile_load("sandbox/no-such-profile.json", "x", &err) == NULL);
	CHECK_STREQ(err.msg, "sandbox/no-such-profile.json: No such file or directory");

	CHECK(seccomp_profile_load("sandbox", "x", &err) == NULL);
	CHECK_STREQ(err.msg, "sandbox: not a regular file");

	char dir[] = "/tmp/t_seccomp.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[96];
	snprintf(path, sizeof path, "%s/big.json", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", f);
		for (int i = 0; i < 1024 * 1024; i++)
			fputc(' ', f);
		fclose(f);
	}
	char want[160];
	CHECK(seccomp_profile_load(path, "big", &err) == NULL);
	snprintf(want, sizeof want, "%s: larger than 1048576 bytes", path);
	CHECK_STREQ(err.msg, want);

	f = fopen(path, "w");
	if (f) {
		fputs("{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"defaultAction\": \"SCMP_ACT_LOG\"}", f);
		fclose(f);
	}
	CHECK(seccomp_profile_load(path, "dup", &err) == NULL);
	snprintf(want, sizeof want, "%s:2:16: invalid JSON: duplicate object key near '\"defaultAction\"'", path);
	CHECK_STREQ(err.msg, want);

	f = fopen(path, "w");
	if (f) {
		fputs("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"x\"], \"acton\": 1}]}", f);
		fclose(f);
	}
	CHECK(seccomp_profile_load(path, "x", &err) == NULL);
	snprintf(want, sizeof want, "%s: syscalls[0].acton: unknown key", path);
	CHECK_STREQ(err.msg, want);
	unlink(path);
	rmdir(dir);
}

TEST(load_keeps_the_profile_name)
{
	struct seccomp_program *p = load_profile("minimal");
	CHECK(p != NULL);
	if (p) {
		CHECK_STREQ(p->name, "minimal");
		CHECK(p->prog.len > 0 && p->prog.filter != NULL);
		seccomp_program_free(p);
	}
}

/* ---- what a compiled profile does ----------------------------------------- */

/* getcwd with a zero-sized buffer fails with ERANGE when allowed: a clear tell. */
#define GETCWD_ALLOWED ERANGE

static int getcwd_under(const char *profile_text)
{
	struct tg_error err = { "" };
	struct seccomp_program *p = compile_text(profile_text, &err);
	if (!p) {
		fprintf(stderr, "    %s\n", err.msg);
		return -1000;
	}
	int r = PROBE2(p, SYS_getcwd, 0, 0);
	seccomp_program_free(p);
	return r;
}

TEST(unknown_syscall_names_are_skipped_and_the_rest_of_the_entry_applies)
{
	CHECK(getcwd_under("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"no_such_syscall\", \"getcwd\", \"futex_waitv\"], "
		"\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}]}") == EACCES);
}

TEST(errno_action_without_errnoret_is_eperm_and_default_errnoret_applies)
{
	CHECK(getcwd_under("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\"}]}") == EPERM);
	CHECK(getcwd_under("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 13,"
		"\"syscalls\": [{\"names\": [\"exit_group\", \"exit\", \"read\", \"write\", \"execve\"],"
		" \"action\": \"SCMP_ACT_ALLOW\"}]}") == EACCES);
	CHECK(getcwd_under("{\"defaultAction\": \"SCMP_ACT_ERRNO\","
		"\"syscalls\": [{\"names\": [\"exit_group\", \"exit\", \"read\", \"write\", \"execve\"],"
		" \"action\": \"SCMP_ACT_ALLOW\"}]}") == EPERM);
	CHECK(getcwd_under("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}") == GETCWD_ALLOWED);
}

TEST(each_action_does_what_it_says)
{
	const char *fmt = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
	                  "\"names\": [\"getcwd\"], \"action\": \"%s\"}]}";
	char text[256];
	snprintf(text, sizeof text, fmt, "SCMP_ACT_KILL_PROCESS");
	CHECK(getcwd_under(text) == -SIGSYS);
	snprintf(text, sizeof text, fmt, "SCMP_ACT_KILL_THREAD");
	CHECK(getcwd_under(text) == -SIGSYS);
	snprintf(text, sizeof text, fmt, "SCMP_ACT_KILL");
	CHECK(getcwd_under(text) == -SIGSYS);
	snprintf(text, sizeof text, fmt, "SCMP_ACT_TRAP");
	CHECK(getcwd_under(text) == -SIGSYS);
	snprintf(text, sizeof text, fmt, "SCMP_ACT_LOG");
	CHECK(getcwd_under(text) == GETCWD_ALLOWED);
	/* With no tracer attached the kernel fails a traced call with ENOSYS. */
	snprintf(text, sizeof text, fmt, "SCMP_ACT_TRACE");
	CHECK(getcwd_under(text) == ENOSYS);
}

TEST(includes_caps_skips_the_entry_and_excludes_caps_applies_it)
{
	CHECK(getcwd_under("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,"
		"\"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}") == GETCWD_ALLOWED);
	CHECK(getcwd_under("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,"
		"\"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}") == EACCES);
	/* Empty lists say nothing. */
	CHECK(getcwd_under("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
		"\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,"
		"\"includes\": {\"caps\": []}, \"excludes\": null}]}") == EACCES);
}

#ifdef NATIVE_ARCH
TEST(arches_are_matched_against_the_native_architecture)
{
	const char *fmt = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
	                  "\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,"
	                  "\"%s\": {\"arches\": [\"%s\"]}}]}";
	char text[256];
	snprintf(text, sizeof text, fmt, "includes", NATIVE_ARCH);
	CHECK(getcwd_under(text) == EACCES);
#ifdef __x86_64__
	snprintf(text, sizeof text, fmt, "includes", "x86_64");
	CHECK(getcwd_under(text) == EACCES);
#endif
	snprintf(text, sizeof text, fmt, "includes", OTHER_ARCH);
	CHECK(getcwd_under(text) == GETCWD_ALLOWED);
	snprintf(text, sizeof text, fmt, "excludes", NATIVE_ARCH);
	CHECK(getcwd_under(text) == GETCWD_ALLOWED);
	snprintf(text, sizeof text, fmt, "excludes", OTHER_ARCH);
	CHECK(getcwd_under(text) == EACCES);
}
#endif

TEST(min_kernel_is_compared_with_the_running_kernel)
{
	const char *fmt = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
	                  "\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,"
	                  "\"%s\": {\"minKernel\": \"%s\"}}]}";
	char text[256];
	snprintf(text, sizeof text, fmt, "includes", "3.10");
	CHECK(getcwd_under(text) == EACCES);
	snprintf(text, sizeof text, fmt, "includes", "999.0");
	CHECK(getcwd_under(text) == GETCWD_ALLOWED);
	snprintf(text, sizeof text, fmt, "excludes", "3.10");
	CHECK(getcwd_under(text) == GETCWD_ALLOWED);
	snprintf(text, sizeof text, fmt, "excludes", "999.0");
	CHECK(getcwd_under(text) == EACCES);
}

static struct seccomp_program *dup_rule(const char *args)
{
	char text[512];
	struct tg_error err = { "" };
	snprintf(text, sizeof text, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{"
	         "\"names\": [\"dup\", \"dup2\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,"
	         "\"args\": [%s]}]}", args);
	struct seccomp_program *p = compile_text(text, &err);
	if (!p)
		fprintf(stderr, "    %s\n", err.msg);
	return p;
}

/* dup of a descriptor that is not open fails with EBADF when allowed. */
TEST(argument_conditions_compare_as_the_spec_says)
{
	struct seccomp_program *p = dup_rule("{\"index\": 0, \"value\": 900, \"op\": \"SCMP_CMP_EQ\"}");
	CHECK(p && PROBE1(p, SYS_dup, 900) == EACCES);
	CHECK(p && PROBE1(p, SYS_dup, 901) == EBADF);
	seccomp_program_free(p);

	p = dup_rule("{\"index\": 0, \"value\": 900, \"op\": \"SCMP_CMP_GT\"}");
	CHECK(p && PROBE1(p, SYS_dup, 901) == EACCES);
	CHECK(p && PROBE1(p, SYS_dup, 900) == EBADF);
	seccomp_program_free(p);

	/* value is the mask, valueTwo the datum. */
	p = dup_rule("{\"index\": 0, \"value\": 15, \"valueTwo\": 4, \"op\": \"SCMP_CMP_MASKED_EQ\"}");
	CHECK(p && PROBE1(p, SYS_dup, 0x384) == EACCES);
	CHECK(p && PROBE1(p, SYS_dup, 0x385) == EBADF);
	seccomp_program_free(p);
}

TEST(conditions_on_different_arguments_must_all_hold)
{
	struct seccomp_program *p = dup_rule(
		"{\"index\": 0, \"value\": 900, \"op\": \"SCMP_CMP_EQ\"},"
		"{\"index\": 1, \"value\": 950, \"op\": \"SCMP_CMP_EQ\"}");
	CHECK(p && PROBE2(p, SYS_dup2, 900, 950) == EACCES);
	CHECK(p && PROBE2(p, SYS_dup2, 900, 951) == EBADF);
	CHECK(p && PROBE2(p, SYS_dup2, 901, 950) == EBADF);
	seccomp_program_free(p);
}

TEST(a_repeated_argument_index_makes_each_condition_its_own_rule)
{
	/* runc's reading: once an index repeats, every condition of the entry
	 * stands alone, so these are alternatives. */
	struct seccomp_program *p = dup_rule(
		"{\"index\": 0, \"value\": 900, \"op\": \"SCMP_CMP_EQ\"},"
		"{\"index\": 0, \"value\": 901, \"op\": \"SCMP_CMP_EQ\"},"
		"{\"index\": 1, \"value\": 950, \"op\": \"SCMP_CMP_EQ\"}");
	CHECK(p && PROBE1(p, SYS_dup, 900) == EACCES);
	CHECK(p && PROBE1(p, SYS_dup, 901) == EACCES);
	CHECK(p && PROBE1(p, SYS_dup, 902) == EBADF);
	CHECK(p && PROBE2(p, SYS_dup2, 902, 950) == EACCES);
	seccomp_program_free(p);
}

/* ---- the baseline under every profile -------------------------------------- */

static struct seccomp_program *allow_all(void)
{
	struct tg_error err = { "" };
	struct seccomp_program *p = compile_text("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", &err);
	if (!p)
		fprintf(stderr, "    %s\n", err.msg);
	return p;
}

TEST(even_an_allow_everything_profile_refuses_escape_calls)
{
	struct seccomp_program *p = allow_all();
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(PROBE1(p, SYS_unshare, CLONE_NEWNS) == EPERM);
	CHECK(PROBE1(p, SYS_unshare, CLONE_NEWUSER) == EPERM);
	CHECK(PROBE2(p, SYS_setns, NOT_AN_FD, 0) == EPERM);
	CHECK(PROBE1(p, SYS_ptrace, PTRACE_TRACEME) == EPERM);
	CHECK(probe(p, SYS_mount, (long)"none", (long)NO_SUCH_PATH, (long)"tmpfs", 0, 0, 0) == EPERM);
	CHECK(PROBE3(p, SYS_bpf, 0, 0, 0) == EPERM);
	CHECK(PROBE2(p, SYS_io_uring_setup, 1, 0) == EPERM);
	CHECK(PROBE1(p, SYS_userfaultfd, 0) == EPERM);
	CHECK(PROBE2(p, SYS_keyctl, 0, 0) == EPERM);
	CHECK(PROBE3(p, SYS_open_by_handle_at, NOT_AN_FD, 0, 0) == EPERM);
	CHECK(PROBE1(p, SYS_clone, CLONE_NEWNET | SIGCHLD) == EPERM);
	CHECK(PROBE1(p, SYS_clone, CLONE_NEWPID | SIGCHLD) == EPERM);
	/* clone3's flags are out of sight: ENOSYS sends glibc to clone. */
	CHECK(PROBE2(p, SYS_clone3, 0, 0) == ENOSYS);
	/* TIOCSTI on a non-tty would be ENOTTY if it got through; the kernel
	 * ignores the request's upper 32 bits and so does the filter. */
	CHECK(PROBE3(p, SYS_ioctl, NOT_AN_FD, TIOCSTI, "x") == EPERM);
	CHECK(PROBE3(p, SYS_ioctl, NOT_AN_FD, 0x100000000L | TIOCSTI, "x") == EPERM);
	CHECK(PROBE3(p, SYS_ioctl, NOT_AN_FD, TIOCLINUX, "x") == EPERM);
	CHECK(PROBE1(p, SYS_unshare, 0) == EPERM);
	/* What is not an escape still works. */
	CHECK(PROBE2(p, SYS_getcwd, 0, 0) == GETCWD_ALLOWED);
	CHECK(PROBE3(p, SYS_ioctl, NOT_AN_FD, TCGETS, 0) == EBADF);
	seccomp_program_free(p);
}

#ifdef __x86_64__
static int probe_int80_getpid(const struct seccomp_program *p)
{
	pid_t pid = fork();
	if (pid == 0) {
		child_enter_sandbox(p);
		long r;
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
		child_exit(r > 0 ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

TEST(foreign_abis_kill_the_process_whatever_the_profile_lists)
{
	struct tg_error err = { "" };
	/* Docker's profile maps x86 and x32 in; the contract refuses them. */
	struct seccomp_program *p = compile_text("{\"defaultAction\": \"SCMP_ACT_ALLOW\","
		"\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]}", &err);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(PROBE0(p, 0x40000000 | SYS_getpid) == -SIGSYS);
	CHECK(probe_int80_getpid(p) == -SIGSYS);
	CHECK(PROBE0(p, SYS_getpid) == 0);
	seccomp_program_free(p);
}
#endif

TEST(filter_flags_reach_the_kernel)
{
	struct tg_error err = { "" };
	struct seccomp_program *p = compile_text("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": ["
		"\"SECCOMP_FILTER_FLAG_LOG\", \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\", \"SECCOMP_FILTER_FLAG_TSYNC\"]}", &err);
	CHECK(p != NULL);
	if (p)
		CHECK(PROBE2(p, SYS_getcwd, 0, 0) == GETCWD_ALLOWED);
	seccomp_program_free(p);
}

/* ---- refusals the broker can name: the composed filter and its listener ------ */

TEST(a_profile_that_cannot_start_a_tool_is_refused_naming_the_calls)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		"{\"names\": [\"read\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}"),
		"sandbox/t.json: must allow read, write and execve (or execveat): the broker starts "
		"every tool with them (refused here: write, execve, execveat)");
	/* Killing or trapping is refusing too; so is an allow the broker's own
	 * call (arguments zero) does not meet. */
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},"
		"{\"names\": [\"execve\"], \"action\": \"SCMP_ACT_TRAP\"}]}"),
		"sandbox/t.json: must allow read, write and execve (or execveat): the broker starts "
		"every tool with them (refused here: read)");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		"{\"names\": [\"read\", \"execve\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		"{\"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\","
		" \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}"),
		"sandbox/t.json: must allow read, write and execve (or execveat): the broker starts "
		"every tool with them (refused here: write)");
	/* execveat alone will do, and LOG allows. */
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		"{\"names\": [\"read\", \"write\", \"execveat\"], \"action\": \"SCMP_ACT_LOG\"}]}"), "");
	/* The path given to load is the one named. */
	struct tg_error err = { "" };
	char dir[] = "/tmp/t_seccomp.XXXXXX", path[96];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/x.json", dir);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("{\"defaultAction\": \"SCMP_ACT_KILL_PROCESS\"}", f);
		fclose(f);
	}
	char want[256];
	snprintf(want, sizeof want, "%s: must allow read, write and execve (or execveat): the broker "
	         "starts every tool with them (refused here: read, write, execve, execveat)", path);
	CHECK(seccomp_profile_load(path, "x", &err) == NULL);
	CHECK_STREQ(err.msg, want);
	unlink(path);
	rmdir(dir);
}

static struct seccomp_program *compiled(const char *text)
{
	struct tg_error err = { "" };
	struct seccomp_program *p = compile_text(text, &err);
	if (!p)
		fprintf(stderr, "    %s\n", err.msg);
	return p;
}

static struct seccomp_data native_call(int nr, uint64_t a0, uint64_t a1)
{
	return (struct seccomp_data){ .nr = nr, .arch = AUDIT_ARCH_NATIVE, .args = { a0, a1 } };
}

TEST(decide_names_the_call_and_which_filter_decided_with_the_kernels_precedence)
{
	struct seccomp_program *all = compiled("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}");
	struct seccomp_program *def = load_profile("default");
	struct seccomp_program *mine = compiled("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"keyctl\", \"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13},"
		"{\"names\": [\"bpf\", \"socket\"], \"action\": \"SCMP_ACT_TRAP\"},"
		"{\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_TRACE\"},"
		"{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_KILL_THREAD\"}]}");
	CHECK(all && def && mine);
	if (!all || !def || !mine)
		goto out;
	struct seccomp_verdict v;
	struct seccomp_data d = native_call(SYS_keyctl, 0, 0);

	/* Only the baseline refuses: the baseline decides. */
	CHECK(seccomp_program_decide(all, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == EPERM && v.baseline);
	CHECK_STREQ(v.syscall, "keyctl");
	/* Both refuse with an errno: a tie, and the profile's errno stands. */
	CHECK(seccomp_program_decide(def, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == EPERM && !v.baseline);
	CHECK(seccomp_program_decide(mine, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == EACCES && !v.baseline);
	/* Only the profile refuses. */
	d = native_call(SYS_getcwd, 0, 0);
	CHECK(seccomp_program_decide(mine, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == EACCES && !v.baseline);
	CHECK_STREQ(v.syscall, "getcwd");
	/* TRAP outranks the baseline's errno and becomes a kill; TRACE does
	 * not, and KILL_THREAD kills the tool. */
	d = native_call(SYS_bpf, 0, 0);
	CHECK(seccomp_program_decide(mine, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_KILL && !v.baseline);
	CHECK_STREQ(v.syscall, "bpf");
	d = native_call(SYS_ptrace, 0, 0);
	CHECK(seccomp_program_decide(mine, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == EPERM && v.baseline);
	d = native_call(SYS_mount, 0, 0);
	CHECK(seccomp_program_decide(mine, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_KILL && !v.baseline);
	CHECK_STREQ(v.syscall, "mount");
	/* Arguments count: clone with a namespace flag, TIOCSTI. */
	d = native_call(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0);
	CHECK(seccomp_program_decide(all, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == EPERM && v.baseline);
	CHECK_STREQ(v.syscall, "clone");
	d = native_call(SYS_ioctl, 1, TIOCSTI);
	CHECK(seccomp_program_decide(all, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == EPERM && v.baseline);
	CHECK_STREQ(v.syscall, "ioctl");
	/* A number no one knows, refused by the profile's default. */
	d = native_call(999, 0, 0);
	CHECK(seccomp_program_decide(def, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == EPERM && !v.baseline);
	CHECK_STREQ(v.syscall, "syscall 999");
out:
	seccomp_program_free(all);
	seccomp_program_free(def);
	seccomp_program_free(mine);
}

TEST(decide_never_lets_a_call_through_and_flags_one_the_filters_allow)
{
	struct seccomp_program *def = load_profile("default");
	CHECK(def != NULL);
	if (!def)
		return;
	struct seccomp_verdict v;
	struct seccomp_data d = native_call(SYS_read, 0, 0);
	CHECK(seccomp_program_decide(def, &d, &v) == SECCOMP_DECIDE_INCONSISTENT);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == EPERM);
	CHECK_STREQ(v.syscall, "read");
	seccomp_program_free(def);
}

/* Hand-written originals reach the verdicts libseccomp's output never does. */
TEST(decide_maps_trace_unknown_actions_and_broken_programs_to_refusals)
{
	struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_filter trace[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 5) };
	struct sock_filter odd[] = { BPF_STMT(BPF_RET | BPF_K, 0x12340000) };
	struct sock_filter notif[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF) };
	struct sock_filter log[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG) };
	struct sock_filter broken[] = { BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0),
	                                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
#define FPROG(a) ((struct sock_fprog){ .len = sizeof(a) / sizeof((a)[0]), .filter = (a) })
	struct seccomp_program p = { .baseline = FPROG(allow), .name = "hand" };
	struct seccomp_data d = native_call(SYS_getpid, 0, 0);
	struct seccomp_verdict v;

	p.prog = FPROG(trace);
	CHECK(seccomp_program_decide(&p, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == ENOSYS && !v.baseline);
	CHECK_STREQ(v.syscall, "getpid");
	p.prog = FPROG(odd);
	CHECK(seccomp_program_decide(&p, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_KILL);
	p.prog = FPROG(notif);
	CHECK(seccomp_program_decide(&p, &d, &v) == SECCOMP_DECIDE_INCONSISTENT);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == EPERM);
	p.prog = FPROG(log);
	CHECK(seccomp_program_decide(&p, &d, &v) == SECCOMP_DECIDE_INCONSISTENT);
	CHECK(v.kind == SECCOMP_VERDICT_ERRNO && v.errnum == EPERM);
	p.prog = FPROG(allow);
	p.baseline = FPROG(broken);
	CHECK(seccomp_program_decide(&p, &d, &v) == SECCOMP_DECIDE_BROKEN);
	CHECK(v.kind == SECCOMP_VERDICT_KILL);
	CHECK_STREQ(v.syscall, "getpid");
#undef FPROG
}

#ifdef __x86_64__
TEST(decide_names_foreign_abis_by_abi_and_number_and_kills)
{
	struct seccomp_program *all = compiled("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}");
	CHECK(all != NULL);
	if (!all)
		return;
	struct seccomp_verdict v;
	struct seccomp_data d = { .nr = 199, .arch = AUDIT_ARCH_I386 };
	CHECK(seccomp_program_decide(all, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_KILL);
	CHECK_STREQ(v.syscall, "i386 syscall 199");
	d = (struct seccomp_data){ .nr = 0x40000065, .arch = AUDIT_ARCH_X86_64 };
	CHECK(seccomp_program_decide(all, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_KILL);
	CHECK_STREQ(v.syscall, "x32 syscall 0x40000065");
	d = (struct seccomp_data){ .nr = 63, .arch = AUDIT_ARCH_AARCH64 };
	CHECK(seccomp_program_decide(all, &d, &v) == 0);
	CHECK(v.kind == SECCOMP_VERDICT_KILL);
	CHECK_STREQ(v.syscall, "arch 0xc00000b7 syscall 63");
	seccomp_program_free(all);
}
#endif

/*
 * The test process plays the broker: a forked child installs the composed
 * filter with a listener, writes the listener's number to a pipe and waits
 * for a byte on a gate pipe (write and read are calls every profile must
 * allow, and nothing else is safe before someone answers); the parent
 * takes the descriptor with pidfd_getfd, opens the gate, and answers every
 * notification the way seccomp_program_decide says: with the errno, or
 * with SIGKILL.  The gate keeps the child from exiting, and its listener
 * from closing, before the parent holds it.
 */
struct served {
	int notifications;
	int decide_rc;                  /* for the first notification */
	struct seccomp_verdict first;
};

#define LISTENED_TIMEOUT_MS 20000

struct handover {
	int report[2];                  /* child -> parent: the listener's number */
	int gate[2];                    /* parent -> child: go on */
};

static int handover_open(struct handover *h)
{
	if (pipe2(h->report, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(h->gate, O_CLOEXEC) != 0) {
		close(h->report[0]);
		close(h->report[1]);
		return -1;
	}
	return 0;
}

static void child_enter_listened(const struct seccomp_program *p, const struct handover *h)
{
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_exit(CHILD_INSTALL_FAILED);
	int fd = seccomp_program_install_listener(p);
	if (fd < 0)
		child_exit(CHILD_INSTALL_FAILED);
	char go;
	if (syscall(SYS_write, h->report[1], &fd, sizeof fd) != (long)sizeof fd ||
	    syscall(SYS_read, h->gate[0], &go, 1) != 1)
		child_exit(CHILD_INSTALL_FAILED);
}

/*
 * In the parent: the child's listener, with the gate opened; -1 when the
 * child never reported one.  Closes the parent's ends of h.
 */
static int take_listener(pid_t pid, struct handover *h)
{
	int num = -1, fd = -1;
	ssize_t r;
	close(h->report[1]);
	close(h->gate[0]);
	do
		r = read(h->report[0], &num, sizeof num);
	while (r < 0 && errno == EINTR);
	int pidfd = r == (ssize_t)sizeof num ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	if (pidfd >= 0) {
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, num, 0);
		close(pidfd);
	}
	if (fd >= 0 && write(h->gate[1], "g", 1) != 1) {
		close(fd);
		fd = -1;
	}
	close(h->report[0]);
	close(h->gate[1]);
	return fd;
}

/* Answer notifications until the child exits; -1 on a timeout. */
static int serve(const struct seccomp_program *p, pid_t pid, int listener, struct served *s)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int rc = -1;
	if (pidfd < 0)
		return -1;
	for (;;) {
		struct pollfd fds[2] = { { listener, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
		if (poll(fds, 2, LISTENED_TIMEOUT_MS) <= 0)
			break;
		if (fds[0].revents & POLLIN) {
			struct seccomp_notif req;
			memset(&req, 0, sizeof req);
			/* ENOENT: the caller died (killed) between poll and here. */
			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
				continue;
			struct seccomp_verdict v;
			int d = seccomp_program_decide(p, &req.data, &v);
			if (s->notifications++ == 0) {
				s->first = v;
				s->decide_rc = d;
			}
			if (v.kind == SECCOMP_VERDICT_KILL) {
				kill(pid, SIGKILL);
				continue;
			}
			struct seccomp_notif_resp resp = { .id = req.id, .error = -v.errnum };
			ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
			continue;
		}
		if (fds[1].revents & POLLIN) {
			rc = 0;
			break;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "    no answer from the child within %d ms\n", LISTENED_TIMEOUT_MS);
		kill(pid, SIGKILL);
	}
	close(pidfd);
	return rc;
}

/* What the child's exit status says, as probe() reports it. */
static int outcome(int status)
{
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	int code = WEXITSTATUS(status);
	if (code == 0)
		return 0;
	if (code > ERRNO_EXIT_BASE && code < CHILD_INSTALL_FAILED)
		return code - ERRNO_EXIT_BASE;
	fprintf(stderr, "    listened child exited %d\n", code);
	return PROBE_BROKEN;
}

#define CALL_INT80 (1L << 40)  /* made through the i386 ABI */

/* probe(), under the composed filter with the test as the listening broker. */
static int probe_listened(const struct seccomp_program *p, struct served *s,
                          long nr, long a0, long a1, long a2)
{
	memset(s, 0, sizeof *s);
	s->decide_rc = -100;
	struct handover h;
	if (handover_open(&h) != 0)
		return PROBE_BROKEN;
	pid_t pid = fork();
	if (pid == 0) {
		child_enter_listened(p, &h);
		long r;
#ifdef __x86_64__
		if (nr & CALL_INT80) {
			__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr & ~CALL_INT80) : "memory");
			child_exit(r >= 0 ? 0 : ERRNO_EXIT_BASE + (int)(-r < 150 ? -r : 150));
		}
#endif
		r = syscall(nr, a0, a1, a2, 0, 0, 0);
		child_exit(r == -1 ? ERRNO_EXIT_BASE + (errno < 150 ? errno : 150) : 0);
	}
	if (pid < 0) {
		take_listener(pid, &h);
		return PROBE_BROKEN;
	}
	int listener = take_listener(pid, &h);
	if (listener >= 0) {
		serve(p, pid, listener, s);
		close(listener);
	} else {
		kill(pid, SIGKILL);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return PROBE_BROKEN;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return listener >= 0 ? outcome(status) : PROBE_BROKEN;
}

TEST(a_call_the_baseline_refuses_reaches_the_broker_named_and_fails_with_its_errno)
{
	struct seccomp_program *p = compiled("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}");
	CHECK(p != NULL);
	if (!p)
		return;
	struct served s;
	/* KEYCTL_GET_KEYRING_ID of the thread keyring, no create */
	CHECK(probe_listened(p, &s, SYS_keyctl, 0, -1, 0) == EPERM);
	CHECK(s.notifications == 1);
	CHECK(s.decide_rc == 0);
	CHECK(s.first.kind == SECCOMP_VERDICT_ERRNO && s.first.errnum == EPERM && s.first.baseline);
	CHECK_STREQ(s.first.syscall, "keyctl");

	CHECK(probe_listened(p, &s, SYS_unshare, CLONE_NEWUSER, 0, 0) == EPERM);
	CHECK(s.notifications == 1 && s.first.baseline);
	CHECK_STREQ(s.first.syscall, "unshare");
	seccomp_program_free(p);
}

TEST(a_call_the_profile_kills_reaches_the_broker_named_and_the_tool_dies)
{
	struct seccomp_program *p = compiled("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}]}");
	CHECK(p != NULL);
	if (!p)
		return;
	struct served s;
	CHECK(probe_listened(p, &s, SYS_socket, AF_UNIX, SOCK_STREAM, 0) == -SIGKILL);
	CHECK(s.notifications == 1);
	CHECK(s.decide_rc == 0);
	CHECK(s.first.kind == SECCOMP_VERDICT_KILL && !s.first.baseline);
	CHECK_STREQ(s.first.syscall, "socket");
	seccomp_program_free(p);
}

TEST(a_call_the_profile_refuses_fails_with_the_profiles_errno_through_the_broker)
{
	struct seccomp_program *p = load_profile("minimal");
	CHECK(p != NULL);
	if (!p)
		return;
	struct served s;
	CHECK(probe_listened(p, &s, SYS_socket, AF_UNIX, SOCK_STREAM, 0) == EPERM);
	CHECK(s.notifications == 1 && s.decide_rc == 0);
	CHECK(s.first.kind == SECCOMP_VERDICT_ERRNO && s.first.errnum == EPERM && !s.first.baseline);
	CHECK_STREQ(s.first.syscall, "socket");
	seccomp_program_free(p);

	p = compiled("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}]}");
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(probe_listened(p, &s, SYS_getcwd, 0, 0, 0) == EACCES);
	CHECK(s.notifications == 1);
	CHECK(s.first.kind == SECCOMP_VERDICT_ERRNO && s.first.errnum == EACCES && !s.first.baseline);
	CHECK_STREQ(s.first.syscall, "getcwd");
	seccomp_program_free(p);
}

TEST(allowed_calls_and_the_quiet_clone3_refusal_never_reach_the_broker)
{
	struct seccomp_program *p = load_profile("default");
	CHECK(p != NULL);
	if (!p)
		return;
	struct served s;
	CHECK(probe_listened(p, &s, SYS_getcwd, 0, 0, 0) == GETCWD_ALLOWED);
	CHECK(s.notifications == 0);
	CHECK(probe_listened(p, &s, SYS_clone3, 0, 0, 0) == ENOSYS);
	CHECK(s.notifications == 0);
	CHECK(probe_listened(p, &s, SYS_ioctl, NOT_AN_FD, TCGETS, 0) == EBADF);
	CHECK(s.notifications == 0);
	/* ...while an argument the baseline refuses does. */
	CHECK(probe_listened(p, &s, SYS_ioctl, NOT_AN_FD, TIOCSTI, (long)"x") == EPERM);
	CHECK(s.notifications == 1 && s.first.baseline);
	CHECK_STREQ(s.first.syscall, "ioctl");
	seccomp_program_free(p);
}

TEST(trap_and_log_in_a_profile_stay_with_the_kernel_under_the_composed_filter)
{
	struct seccomp_program *p = compiled("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_TRAP\"},"
		"{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_LOG\"}]}");
	CHECK(p != NULL);
	if (!p)
		return;
	struct served s;
	CHECK(probe_listened(p, &s, SYS_getcwd, 0, 0, 0) == -SIGSYS);
	CHECK(s.notifications == 0);
	CHECK(probe_listened(p, &s, SYS_getppid, 0, 0, 0) == 0);
	CHECK(s.notifications == 0);
	seccomp_program_free(p);
}

#ifdef __x86_64__
TEST(foreign_abis_reach_the_broker_named_by_abi_and_the_tool_dies)
{
	struct seccomp_program *p = compiled("{\"defaultAction\": \"SCMP_ACT_ALLOW\","
		"\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]}");
	CHECK(p != NULL);
	if (!p)
		return;
	struct served s;
	CHECK(probe_listened(p, &s, CALL_INT80 | 20, 0, 0, 0) == -SIGKILL);
	CHECK(s.notifications == 1 && s.first.kind == SECCOMP_VERDICT_KILL);
	CHECK_STREQ(s.first.syscall, "i386 syscall 20");
	CHECK(probe_listened(p, &s, 0x40000000 | SYS_getpid, 0, 0, 0) == -SIGKILL);
	CHECK(s.notifications == 1 && s.first.kind == SECCOMP_VERDICT_KILL);
	CHECK_STREQ(s.first.syscall, "x32 syscall 0x40000027");
	seccomp_program_free(p);
}
#endif

TEST(filter_flags_including_wait_killable_recv_reach_the_listener_install)
{
	struct seccomp_program *p = compiled("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": ["
		"\"SECCOMP_FILTER_FLAG_LOG\", \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\","
		"\"SECCOMP_FILTER_FLAG_TSYNC\", \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]}");
	CHECK(p != NULL);
	if (!p)
		return;
	struct served s;
	CHECK(probe_listened(p, &s, SYS_getcwd, 0, 0, 0) == GETCWD_ALLOWED);
	CHECK(probe_listened(p, &s, SYS_keyctl, 0, -1, 0) == EPERM);
	CHECK(s.notifications == 1);
	/* The two-filter install has no listener, so it leaves that flag out. */
	CHECK(PROBE2(p, SYS_getcwd, 0, 0) == GETCWD_ALLOWED);
	seccomp_program_free(p);
}

/* Exec argv under p's composed filter, the test answering notifications. */
static void run_listened(const struct seccomp_program *p, char *const argv[], const char *input,
                         struct run *r, struct served *s)
{
	int in[2], out[2], errp[2];
	struct handover h;
	memset(r, 0, sizeof *r);
	memset(s, 0, sizeof *s);
	r->status = -1;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) ||
	    handover_open(&h))
		return;
	pid_t pid = fork();
	if (pid == 0) {
		static char *const envp[] = { "PATH=/usr/bin:/bin", "LANG=C", "HOME=/", NULL };
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		child_enter_listened(p, &h);
		execve(argv[0], argv, envp);
		child_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	/* Small enough for the pipe buffer: the child never waits on us. */
	if (input && write(in[1], input, strlen(input)) != (ssize_t)strlen(input))
		fprintf(stderr, "    short write to the child's stdin\n");
	close(in[1]);
	int listener = take_listener(pid, &h);
	if (listener >= 0) {
		serve(p, pid, listener, s);
		close(listener);
	} else if (pid > 0) {
		kill(pid, SIGKILL);
	}
	read_all(out[0], r->out, sizeof r->out);
	read_all(errp[0], r->errout, sizeof r->errout);
	if (pid > 0)
		waitpid(pid, &r->status, 0);
	if (r->status != 0)
		fprintf(stderr, "    %s: status %#x, stderr: %s\n", argv[0], r->status, r->errout);
}

TEST(default_profile_runs_threads_and_subprocesses_under_the_composed_filter)
{
	struct seccomp_program *p = load_profile("default");
	CHECK(p != NULL);
	if (!p)
		return;
	char *py[] = { "/usr/bin/python3", "-c",
	               "import json,sys,threading,subprocess\n"
	               "a = json.load(sys.stdin)\n"
	               "t = threading.Thread(target=lambda: a.update(t=1)); t.start(); t.join()\n"
	               "a['sub'] = subprocess.run(['/bin/echo', 'x'], capture_output=True).stdout.decode()\n"
	               "print(json.dumps(a, sort_keys=True))", NULL };
	struct run r;
	struct served s;
	run_listened(p, py, "{\"n\": 2}", &r, &s);
	CHECK(r.status == 0);
	CHECK_STREQ(r.out, "{\"n\": 2, \"sub\": \"x\\n\", \"t\": 1}\n");
	if (s.notifications)
		printf("    python3 under default: %d refused calls went to the broker, first %s\n",
		       s.notifications, s.first.syscall);
	char *sh[] = { "/bin/sh", "-c", "printf 'b\\na\\n' | sort | head -n 1; wc -c", NULL };
	run_listened(p, sh, "12345", &r, &s);
	CHECK(r.status == 0);
	CHECK_STREQ(r.out, "a\n5\n");
	seccomp_program_free(p);
}

/* ---- the shipped profiles --------------------------------------------------- */

TEST(docker_default_profile_compiles_and_runs_echo)
{
	struct seccomp_program *p = load_profile("docker");
	CHECK(p != NULL);
	if (!p)
		return;
	char *argv[] = { "/bin/echo", "hello", "docker", NULL };
	struct run r;
	run_program(p, argv, NULL, &r);
	CHECK(r.status == 0);
	CHECK_STREQ(r.out, "hello docker\n");
	/* Docker allows ptrace on kernels from 4.8; the baseline does not. */
	CHECK(PROBE1(p, SYS_ptrace, PTRACE_TRACEME) == EPERM);
	CHECK(PROBE1(p, SYS_unshare, CLONE_NEWNS) == EPERM);
	CHECK(PROBE3(p, SYS_socket, AF_NETLINK, SOCK_RAW, 0) == 0);
	seccomp_program_free(p);
}

/* SHA-256 of ../shared/vectors/seccomp/docker-default.json (Docker's default
   profile, see sandbox/NOTICE), pinned so the check needs no ../shared. */
#define DOCKER_DEFAULT_SHA256 "536529b665dd0972c37bfb569f5d4ac8a53592e7b00752bc39ff063ca9864c74"

TEST(docker_profile_is_the_upstream_file_byte_for_byte)
{
	FILE *a = fopen("sandbox/docker.json", "rb");
	CHECK(a != NULL);
	if (!a)
		return;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	unsigned char buf[4096], d[crypto_hash_sha256_BYTES];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, a)) > 0)
		crypto_hash_sha256_update(&st, buf, n);
	fclose(a);
	crypto_hash_sha256_final(&st, d);
	char hex[65];
	sodium_bin2hex(hex, sizeof hex, d, sizeof d);
	CHECK_STREQ(hex, DOCKER_DEFAULT_SHA256);
}

TEST(default_profile_runs_everyday_programs)
{
	struct seccomp_program *p = load_profile("default");
	CHECK(p != NULL);
	if (!p)
		return;
	struct run r;

	char *echo[] = { "/bin/echo", "hi", NULL };
	run_program(p, echo, NULL, &r);
	CHECK(r.status == 0);
	CHECK_STREQ(r.out, "hi\n");

	char *cat[] = { "/bin/cat", NULL };
	run_program(p, cat, "{\"order_id\": \"AB-12\"}\n", &r);
	CHECK(r.status == 0);
	CHECK_STREQ(r.out, "{\"order_id\": \"AB-12\"}\n");

	char *py[] = { "/usr/bin/python3", "-c",
	               "import json,sys; print(json.dumps({\"a\":1}))", NULL };
	run_program(p, py, NULL, &r);
	CHECK(r.status == 0);
	CHECK_STREQ(r.out, "{\"a\": 1}\n");

	/* stdin JSON in, threads (clone3 refused, clone used) and a subprocess. */
	char *py2[] = { "/usr/bin/python3", "-c",
	                "import json,sys,threading,subprocess\n"
	                "a = json.load(sys.stdin)\n"
	                "t = threading.Thread(target=lambda: a.update(t=1)); t.start(); t.join()\n"
	                "a['sub'] = subprocess.run(['/bin/echo', 'x'], capture_output=True).stdout.decode()\n"
	                "print(json.dumps(a, sort_keys=True))", NULL };
	run_program(p, py2, "{\"n\": 2}", &r);
	CHECK(r.status == 0);
	CHECK_STREQ(r.out, "{\"n\": 2, \"sub\": \"x\\n\", \"t\": 1}\n");

	char *ls[] = { "/bin/ls", "/", NULL };
	run_program(p, ls, NULL, &r);
	CHECK(r.status == 0);
	CHECK_CONTAINS(r.out, "usr\n");

	char *sh[] = { "/bin/sh", "-c", "printf 'b\\na\\n' | sort | head -n 1; wc -c", NULL };
	run_program(p, sh, "12345", &r);
	CHECK(r.status == 0);
	CHECK_STREQ(r.out, "a\n5\n");
	seccomp_program_free(p);
}

TEST(default_profile_refuses_what_the_sandbox_must_not_do)
{
	struct seccomp_program *p = load_profile("default");
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(PROBE1(p, SYS_unshare, CLONE_NEWNS) == EPERM);
	CHECK(PROBE1(p, SYS_ptrace, PTRACE_TRACEME) == EPERM);
	CHECK(PROBE1(p, SYS_clone, CLONE_NEWUSER | SIGCHLD) == EPERM);
	CHECK(PROBE2(p, SYS_clone3, 0, 0) == ENOSYS);
	/* Only the families the profile names. */
	CHECK(PROBE3(p, SYS_socket, AF_NETLINK, SOCK_RAW, 0) == EPERM);
	CHECK(PROBE3(p, SYS_socket, AF_PACKET, SOCK_RAW, 0) == EPERM);
	CHECK(PROBE3(p, SYS_socket, AF_VSOCK, SOCK_STREAM, 0) == EPERM);
	CHECK(PROBE3(p, SYS_socket, AF_UNIX, SOCK_STREAM, 0) == 0);
	CHECK(PROBE3(p, SYS_socket, AF_INET6, SOCK_DGRAM, 0) == 0);
	CHECK(PROBE3(p, SYS_socket, 0x100000000L | AF_UNIX, SOCK_STREAM, 0) == EPERM);
	CHECK(PROBE1(p, SYS_personality, ADDR_NO_RANDOMIZE) == EPERM);
	CHECK(PROBE1(p, SYS_personality, 0xffffffffL) == 0);
	CHECK(probe(p, SYS_prlimit64, 1, RLIMIT_NOFILE, 0, 0, 0, 0) == EPERM);
	CHECK(PROBE3(p, SYS_ioctl, NOT_AN_FD, TIOCSTI, "x") == EPERM);
	CHECK(PROBE3(p, SYS_ioctl, NOT_AN_FD, TIOCLINUX, "x") == EPERM);
	CHECK(PROBE3(p, SYS_ioctl, NOT_AN_FD, TCGETS, 0) == EBADF);
	CHECK(PROBE3(p, SYS_perf_event_open, 0, 0, -1) == EPERM);
	CHECK(PROBE2(p, SYS_swapon, NO_SUCH_PATH, 0) == EPERM);
	CHECK(PROBE1(p, SYS_acct, NO_SUCH_PATH) == EPERM);
	CHECK(probe(p, SYS_process_vm_readv, 1, 0, 0, 0, 0, 0) == EPERM);
	CHECK(PROBE3(p, SYS_shmget, 0, 0, 0) == EPERM);
	seccomp_program_free(p);
}

/* The profile alone, not only the baseline, leaves these out. */
TEST(default_profile_text_allows_none_of_the_forbidden_calls)
{
	static const char *const forbidden[] = {
		"ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
		"move_mount", "open_tree", "fsopen", "fsmount", "unshare", "setns", "bpf",
		"perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
		"io_uring_setup", "io_uring_enter", "io_uring_register", "kexec_load",
		"kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
		"swapon", "swapoff", "acct", "quotactl", "open_by_handle_at", "clone3", NULL,
	};
	json_error_t jerr;
	json_t *doc = json_load_file("sandbox/default.json", JSON_REJECT_DUPLICATES, &jerr);
	CHECK(doc != NULL);
	if (!doc)
		return;
	size_t i, j;
	json_t *e, *n;
	json_array_foreach(json_object_get(doc, "syscalls"), i, e) {
		const char *action = json_string_value(json_object_get(e, "action"));
		bool permits = action && (strcmp(action, "SCMP_ACT_ALLOW") == 0 ||
		                          strcmp(action, "SCMP_ACT_LOG") == 0);
		json_array_foreach(json_object_get(e, "names"), j, n) {
			for (const char *const *f = forbidden; *f; f++) {
				if (permits && strcmp(json_string_value(n), *f) == 0) {
					fprintf(stderr, "    syscalls[%zu] allows %s\n", i, *f);
					CHECK(!"forbidden call allowed");
				}
			}
			/* Arguments decide for these: never unconditionally. */
			const char *name = json_string_value(n);
			if (permits && (strcmp(name, "socket") == 0 || strcmp(name, "clone") == 0 ||
			                strcmp(name, "personality") == 0))
				CHECK(json_array_size(json_object_get(e, "args")) > 0);
		}
	}
	CHECK_STREQ(json_string_value(json_object_get(doc, "defaultAction")), "SCMP_ACT_ERRNO");
	CHECK(json_integer_value(json_object_get(doc, "defaultErrnoRet")) == EPERM);
	json_decref(doc);
}

TEST(minimal_profile_runs_a_stdin_to_stdout_program_and_refuses_the_rest)
{
	struct seccomp_program *p = load_profile("minimal");
	CHECK(p != NULL);
	if (!p)
		return;
	struct run r;
	char *cat[] = { "/bin/cat", NULL };
	run_program(p, cat, "in -> out\n", &r);
	CHECK(r.status == 0);
	CHECK_STREQ(r.out, "in -> out\n");
	char *echo[] = { "/bin/echo", "minimal", NULL };
	run_program(p, echo, NULL, &r);
	CHECK(r.status == 0);
	CHECK_STREQ(r.out, "minimal\n");

	CHECK(PROBE2(p, SYS_getcwd, 0, 0) == EPERM);
	CHECK(PROBE3(p, SYS_socket, AF_UNIX, SOCK_STREAM, 0) == EPERM);
	CHECK(PROBE1(p, SYS_clone, SIGCHLD) == EPERM);
	CHECK(PROBE3(p, SYS_ioctl, NOT_AN_FD, TIOCGWINSZ, 0) == EPERM);
	CHECK(probe(p, SYS_prlimit64, 0, RLIMIT_NOFILE, (long)&(struct rlimit){ 1, 1 }, 0, 0, 0) == EPERM);
	seccomp_program_free(p);
}

/* ---- what one filter saves ---------------------------------------------------- */

/* Nanoseconds one install takes in a fresh child, or -1. */
static long install_ns(const struct seccomp_program *p, bool listener)
{
	int fds[2];
	long ns = -1;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec a, b;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			child_exit(1);
		clock_gettime(CLOCK_MONOTONIC, &a);
		int rc = listener ? seccomp_program_install_listener(p) : seccomp_program_install(p);
		clock_gettime(CLOCK_MONOTONIC, &b);
		long d = rc < 0 ? -1 : (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
		syscall(SYS_write, fds[1], &d, sizeof d);
		child_exit(0);
	}
	close(fds[1]);
	if (pid > 0) {
		if (read(fds[0], &ns, sizeof ns) != (ssize_t)sizeof ns)
			ns = -1;
		waitpid(pid, NULL, 0);
	}
	close(fds[0]);
	return ns;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

#define INSTALL_RUNS 200

TEST(install_times_of_two_filters_and_of_the_composed_filter_are_measured)
{
	struct seccomp_program *p = load_profile("default");
	CHECK(p != NULL);
	if (!p)
		return;
	static long two[INSTALL_RUNS], one[INSTALL_RUNS];
	int failed = 0;
	/* Interleaved, so drift in the machine's load hits both alike. */
	for (int i = 0; i < INSTALL_RUNS; i++) {
		two[i] = install_ns(p, false);
		one[i] = install_ns(p, true);
		failed += (two[i] < 0) + (one[i] < 0);
	}
	CHECK(failed == 0);
	qsort(two, INSTALL_RUNS, sizeof two[0], cmp_long);
	qsort(one, INSTALL_RUNS, sizeof one[0], cmp_long);
	printf("    default profile, median of %d forks: two filters %.1f us, "
	       "composed filter with listener %.1f us\n", INSTALL_RUNS,
	       two[INSTALL_RUNS / 2] / 1000.0, one[INSTALL_RUNS / 2] / 1000.0);
	seccomp_program_free(p);
}

int main(void)
{
	RUN(unknown_entry_key_is_an_error_naming_entry_and_key);
	RUN(unknown_top_level_key_is_an_error);
	RUN(unknown_key_in_args_includes_and_archmap_is_an_error);
	RUN(unknown_action_is_an_error_quoting_it);
	RUN(notify_action_is_refused_because_no_agent_runs);
	RUN(unknown_operator_is_an_error_quoting_it);
	RUN(argument_index_above_5_is_an_error);
	RUN(wrong_types_are_errors_naming_the_field);
	RUN(errnoret_only_goes_with_errno_and_trace);
	RUN(name_and_names_together_are_an_error_and_legacy_name_alone_works);
	RUN(architecture_names_are_checked_and_lists_exclusive);
	RUN(listener_path_is_refused_and_known_flags_accepted);
	RUN(control_characters_in_untrusted_text_do_not_reach_the_message);
	RUN(a_rule_that_libseccomp_would_silently_drop_is_an_error);
	RUN(profile_is_one_pass_so_a_typo_in_a_skipped_entry_is_still_an_error);
	RUN(load_names_the_file_on_open_size_and_json_errors);
	RUN(load_keeps_the_profile_name);
	RUN(unknown_syscall_names_are_skipped_and_the_rest_of_the_entry_applies);
	RUN(errno_action_without_errnoret_is_eperm_and_default_errnoret_applies);
	RUN(each_action_does_what_it_says);
	RUN(includes_caps_skips_the_entry_and_excludes_caps_applies_it);
#ifdef NATIVE_ARCH
	RUN(arches_are_matched_against_the_native_architecture);
#endif
	RUN(min_kernel_is_compared_with_the_running_kernel);
	RUN(argument_conditions_compare_as_the_spec_says);
	RUN(conditions_on_different_arguments_must_all_hold);
	RUN(a_repeated_argument_index_makes_each_condition_its_own_rule);
	RUN(even_an_allow_everything_profile_refuses_escape_calls);
#ifdef __x86_64__
	RUN(foreign_abis_kill_the_process_whatever_the_profile_lists);
#endif
	RUN(filter_flags_reach_the_kernel);
	RUN(a_profile_that_cannot_start_a_tool_is_refused_naming_the_calls);
	RUN(decide_names_the_call_and_which_filter_decided_with_the_kernels_precedence);
	RUN(decide_never_lets_a_call_through_and_flags_one_the_filters_allow);
	RUN(decide_maps_trace_unknown_actions_and_broken_programs_to_refusals);
#ifdef __x86_64__
	RUN(decide_names_foreign_abis_by_abi_and_number_and_kills);
#endif
	RUN(a_call_the_baseline_refuses_reaches_the_broker_named_and_fails_with_its_errno);
	RUN(a_call_the_profile_kills_reaches_the_broker_named_and_the_tool_dies);
	RUN(a_call_the_profile_refuses_fails_with_the_profiles_errno_through_the_broker);
	RUN(allowed_calls_and_the_quiet_clone3_refusal_never_reach_the_broker);
	RUN(trap_and_log_in_a_profile_stay_with_the_kernel_under_the_composed_filter);
#ifdef __x86_64__
	RUN(foreign_abis_reach_the_broker_named_by_abi_and_the_tool_dies);
#endif
	RUN(filter_flags_including_wait_killable_recv_reach_the_listener_install);
	RUN(default_profile_runs_threads_and_subprocesses_under_the_composed_filter);
	RUN(docker_default_profile_compiles_and_runs_echo);
	RUN(docker_profile_is_the_upstream_file_byte_for_byte);
	RUN(default_profile_runs_everyday_programs);
	RUN(default_profile_refuses_what_the_sandbox_must_not_do);
	RUN(default_profile_text_allows_none_of_the_forbidden_calls);
	RUN(minimal_profile_runs_a_stdin_to_stdout_program_and_refuses_the_rest);
	RUN(install_times_of_two_filters_and_of_the_composed_filter_are_measured);
	return TEST_SUMMARY();
}
