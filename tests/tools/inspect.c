/*
 * inspect: a test tool that reports, as one JSON object on stdout, what the
 * sandbox gave it, so integration tests can assert on the confinement:
 *
 *   {"uid","gid","euid","groups":[..],"fds":[..],"env":["K=V",..],"cwd",
 *    "tmpdir","no_new_privs","cap_eff","cap_bnd","cap_prm","cap_inh",
 *    "cap_amb","seccomp","seccomp_filters","pid","ppid","hostname",
 *    "rlimit_nofile","rlimit_as","net_ifaces":[..],"root":[names in /],
 *    "dev":[names in /dev],"mounts":[[mount point,"ro"|"rw",fstype],..],
 *    "netns_cookie"}
 *
 * netns_cookie is the kernel's never-reused number of its network namespace
 * (SO_NETNS_COOKIE; a namespace's inode number can come back once it is
 * freed).
 * cap_* are the hex strings of /proc/self/status; seccomp is its Seccomp
 * mode (0 none, 1 strict, 2 filter); rlimits are the soft limits, a number
 * or "unlimited"; a value it cannot find is null.  The open descriptors are
 * listed first, before this program opens anything of its own, and the
 * directory handle used to list them is left out.  It sticks to calls any
 * glibc program makes (openat, read, getdents64, prctl, uname, prlimit64,
 * getgroups), so it runs under sandbox/default.json.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

static void put_str(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7F)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void key(const char *k, int first)
{
	if (!first)
		putchar(',');
	put_str(k);
	putchar(':');
}

/* The value of "Field:\t..." in /proc/self/status, whitespace-trimmed. */
static char *status_field(const char *status, const char *field, char *out, size_t outlen)
{
	size_t fl = strlen(field);
	for (const char *l = status; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, field, fl) != 0 || l[fl] != ':')
			continue;
		const char *v = l + fl + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t n = strcspn(v, "\n");
		if (n >= outlen)
			n = outlen - 1;
		memcpy(out, v, n);
		out[n] = '\0';
		return out;
	}
	return NULL;
}

static void put_rlimit(int res)
{
	struct rlimit rl;
	if (getrlimit(res, &rl) < 0)
		fputs("null", stdout);
	else if (rl.rlim_cur == RLIM_INFINITY)
		fputs("\"unlimited\"", stdout);
	else
		printf("%llu", (unsigned long long)rl.rlim_cur);
}

static void put_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		fputs("null", stdout);
		return;
	}
	int self = dirfd(d), n = 0;
	struct dirent *e;
	putchar('[');
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == self)
			continue;
		printf("%s%s", n++ ? "," : "", e->d_name);
	}
	putchar(']');
	closedir(d);
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static void put_netns_cookie(void)
{
	unsigned long long cookie = 0;
	socklen_t len = sizeof cookie;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) == 0)
		printf("%llu", cookie);
	else
		fputs("null", stdout);
	if (s >= 0)
		close(s);
}

static void put_ifaces(void)
{
	FILE *f = fopen("/proc/net/dev", "re");
	char line[512];
	int n = 0, lineno = 0;
	if (!f) {
		fputs("null", stdout);
		return;
	}
	putchar('[');
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (++lineno <= 2 || !colon)   /* two header lines */
			continue;
		*colon = '\0';
		char *name = line + strspn(line, " ");
		if (n++)
			putchar(',');
		put_str(name);
	}
	putchar(']');
	fclose(f);
}

/* The names in a directory, sorted ("." and ".." left out). */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void put_dir(const char *path)
{
	DIR *d = opendir(path);
	char *names[256];
	size_t n = 0;
	struct dirent *e;
	if (!d) {
		fputs("null", stdout);
		return;
	}
	while ((e = readdir(d)) && n < 256)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof names[0], cmp_str);
	putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar(',');
		put_str(names[i]);
		free(names[i]);
	}
	putchar(']');
}

/* Each mount of /proc/self/mountinfo as [mount point, "ro" or "rw", fstype]. */
static void put_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int n = 0;
	if (!f) {
		fputs("null", stdout);
		return;
	}
	putchar('[');
	while (fgets(line, sizeof line, f)) {
		/* id parent maj:min root mountpoint options ... - fstype source super */
		char *fields[6], *save = NULL, *tok = strtok_r(line, " ", &save);
		int i = 0;
		for (; tok && i < 6; tok = strtok_r(NULL, " ", &save))
			fields[i++] = tok;
		char *dash = NULL;
		for (; tok; tok = strtok_r(NULL, " ", &save))
			if (strcmp(tok, "-") == 0) {
				dash = strtok_r(NULL, " ", &save);
				break;
			}
		if (i < 6 || !dash)
			continue;
		fields[5][strcspn(fields[5], ",")] = '\0';
		printf("%s[", n++ ? "," : "");
		put_str(fields[4]);
		putchar(',');
		put_str(fields[5]);
		putchar(',');
		put_str(dash);
		putchar(']');
	}
	putchar(']');
	fclose(f);
}

int main(void)
{
	char buf[4096];
	ssize_t r;
	while ((r = read(STDIN_FILENO, buf, sizeof buf)) != 0)
		if (r < 0 && errno != EINTR)
			break;

	/* Before anything below opens a descriptor of its own. */
	fputs("{\"fds\":", stdout);
	put_fds();

	key("uid", 0);
	printf("%u", (unsigned)getuid());
	key("gid", 0);
	printf("%u", (unsigned)getgid());
	key("euid", 0);
	printf("%u", (unsigned)geteuid());

	key("groups", 0);
	int ng = getgroups(0, NULL);
	gid_t *groups = ng > 0 ? calloc((size_t)ng, sizeof *groups) : NULL;
	if (ng > 0 && groups)
		ng = getgroups(ng, groups);
	if (ng < 0 || (ng > 0 && !groups)) {
		fputs("null", stdout);
	} else {
		putchar('[');
		for (int i = 0; i < ng; i++)
			printf("%s%u", i ? "," : "", (unsigned)groups[i]);
		putchar(']');
	}
	free(groups);

	key("env", 0);
	putchar('[');
	for (char **e = environ; e && *e; e++) {
		if (e != environ)
			putchar(',');
		put_str(*e);
	}
	putchar(']');

	char cwd[4096];
	key("root", 0);
	put_dir("/");
	key("dev", 0);
	put_dir("/dev");
	key("mounts", 0);
	put_mounts();
	key("cwd", 0);
	put_str(getcwd(cwd, sizeof cwd));
	key("tmpdir", 0);
	put_str(getenv("TMPDIR"));

	key("no_new_privs", 0);
	printf("%d", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));

	static char status[65536];
	size_t slen = 0;
	FILE *sf = fopen("/proc/self/status", "re");
	if (sf) {
		slen = fread(status, 1, sizeof status - 1, sf);
		fclose(sf);
	}
	status[slen] = '\0';
	static const char *const caps[][2] = {
		{"cap_eff", "CapEff"}, {"cap_bnd", "CapBnd"}, {"cap_prm", "CapPrm"},
		{"cap_inh", "CapInh"}, {"cap_amb", "CapAmb"},
	};
	char v[128];
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		key(caps[i][0], 0);
		put_str(status_field(status, caps[i][1], v, sizeof v));
	}
	key("seccomp", 0);
	if (status_field(status, "Seccomp", v, sizeof v))
		printf("%d", atoi(v));
	else
		fputs("null", stdout);
	key("seccomp_filters", 0);
	if (status_field(status, "Seccomp_filters", v, sizeof v))
		printf("%d", atoi(v));
	else
		fputs("null", stdout);

	key("pid", 0);
	printf("%d", (int)getpid());
	key("ppid", 0);
	printf("%d", (int)getppid());

	struct utsname u;
	key("hostname", 0);
	put_str(uname(&u) == 0 ? u.nodename : NULL);

	key("rlimit_nofile", 0);
	put_rlimit(RLIMIT_NOFILE);
	key("rlimit_as", 0);
	put_rlimit(RLIMIT_AS);

	key("net_ifaces", 0);
	put_ifaces();
	key("netns_cookie", 0);
	put_netns_cookie();
	fputs("}\n", stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
