/* Unit tests for fsview.c: the plan of a tool's filesystem view, and the
   view itself built in a child with fresh mount and pid namespaces. */
#include "fsview.h"
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];   /* a temp dir outside /tmp (the scratch area) */

static void path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/var/tmp/tg-fsview-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	char p[128], q[128];
	path_in(p, sizeof p, "ro");
	mkdir(p, 0755);
	path_in(p, sizeof p, "ro/file.txt");
	FILE *f = fopen(p, "w");
	fputs("hello\n", f);
	fclose(f);
	path_in(p, sizeof p, "rw");
	mkdir(p, 0777);
	path_in(p, sizeof p, "link");          /* link -> ro */
	if (symlink("ro", p) != 0)
		abort();
	path_in(p, sizeof p, "exe");
	f = fopen(p, "w");
	fputs("\x7f" "ELF", f);
	fclose(f);
	path_in(q, sizeof q, "script");
	f = fopen(q, "w");
	fputs("#!/bin/sh\n", f);
	fclose(f);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static const struct fsview_entry *find(const struct fsview *fv, const char *path)
{
	for (size_t i = 0; i < fv->n; i++)
		if (strcmp(fv->v[i].path, path) == 0)
			return &fv->v[i];
	return NULL;
}

TEST(plan_binds_read_and_write_paths_and_the_executable_parents_first)
{
	char ro[128], rw[128], exe[128], nested[128];
	path_in(ro, sizeof ro, "ro");
	path_in(rw, sizeof rw, "rw");
	path_in(exe, sizeof exe, "exe");
	path_in(nested, sizeof nested, "ro/file.txt");
	const char *read[] = { nested, ro, NULL }, *write[] = { rw, NULL };
	struct fsview fv;
	struct tg_error err = { "" };
	CHECK(fsview_plan(&fv, read, write, false, exe, false, "tools.d/t.json: sandbox", &err) == 0);
	CHECK(fv.n == 4);
	CHECK_STREQ(fv.v[0].path, exe);   /* "exe" < "ro" < "ro/file.txt" < "rw" */
	CHECK_STREQ(fv.v[1].path, ro);
	CHECK_STREQ(fv.v[2].path, nested);
	CHECK_STREQ(fv.v[3].path, rw);
	CHECK(fv.v[1].kind == FSVIEW_READ && fv.v[3].kind == FSVIEW_WRITE && fv.v[0].kind == FSVIEW_READ);
	fsview_free(&fv);
}

TEST(plan_leaves_out_an_executable_the_paths_already_show)
{
	char exe[128];
	path_in(exe, sizeof exe, "exe");
	const char *read[] = { dir, NULL };
	struct fsview fv;
	struct tg_error err = { "" };
	CHECK(fsview_plan(&fv, read, NULL, false, exe, false, "w", &err) == 0);
	CHECK(fv.n == 1 && find(&fv, dir) && !find(&fv, exe));
	fsview_free(&fv);
}

TEST(plan_recreates_a_final_symbolic_link_and_refuses_one_on_the_way)
{
	char link[128], through[128];
	path_in(link, sizeof link, "link");
	path_in(through, sizeof through, "link/file.txt");
	const char *read[] = { link, NULL };
	struct fsview fv;
	struct tg_error err = { "" };
	CHECK(fsview_plan(&fv, read, NULL, false, "/usr/bin/true", false, "tools.d/t.json: sandbox", &err) == 0);
	const struct fsview_entry *e = find(&fv, link);
	CHECK(e && e->kind == FSVIEW_SYMLINK);
	CHECK_STREQ(e ? e->target : "", "ro");
	fsview_free(&fv);

	const char *read2[] = { through, NULL };
	CHECK(fsview_plan(&fv, read2, NULL, false, "/usr/bin/true", false, "tools.d/t.json: sandbox", &err) < 0);
	char want[512];
	snprintf(want, sizeof want, "tools.d/t.json: sandbox.read_paths[0]: %s passes through the "
	         "symbolic link %s; name the real path", through, link);
	CHECK_STREQ(err.msg, want);

	const char *write[] = { link, NULL };
	CHECK(fsview_plan(&fv, NULL, write, false, "/usr/bin/true", false, "tools.d/t.json: sandbox", &err) < 0);
	snprintf(want, sizeof want, "tools.d/t.json: sandbox.write_paths[0]: %s is a symbolic link; a "
	         "write path must be the real directory or file", link);
	CHECK_STREQ(err.msg, want);
}

TEST(plan_refuses_the_whole_host_the_reserved_areas_and_missing_paths)
{
	struct fsview fv;
	struct tg_error err = { "" };
	const char *root[] = { "/", NULL };
	CHECK(fsview_plan(&fv, root, NULL, false, "/usr/bin/true", false, "t: sandbox", &err) < 0);
	CHECK_STREQ(err.msg, "t: sandbox.read_paths[0]: \"/\" would show the tool the whole host; name "
	            "the directories it needs");
	const char *proc[] = { "/usr", "/proc/sys", NULL };
	CHECK(fsview_plan(&fv, proc, NULL, false, "/usr/bin/true", false, "t: sandbox", &err) < 0);
	CHECK_STREQ(err.msg, "t: sandbox.read_paths[1]: /proc/sys is inside /proc, which the sandbox "
	            "gives each tool on its own");
	const char *tmp[] = { "/tmp", NULL };
	CHECK(fsview_plan(&fv, NULL, tmp, false, "/usr/bin/true", false, "t: sandbox", &err) < 0);
	CHECK_STREQ(err.msg, "t: sandbox.write_paths[0]: /tmp is inside /tmp, which the sandbox gives "
	            "each tool on its own");
	char missing[128];
	path_in(missing, sizeof missing, "nope");
	const char *miss[] = { missing, NULL };
	CHECK(fsview_plan(&fv, miss, NULL, false, "/usr/bin/true", false, "t: sandbox", &err) < 0);
	char want[256];
	snprintf(want, sizeof want, "t: sandbox.read_paths[0]: %s: No such file or directory", missing);
	CHECK_STREQ(err.msg, want);
	/* The default set skips what this host does not have. */
	CHECK(fsview_plan(&fv, miss, NULL, true, "/usr/bin/true", false, "t: sandbox", &err) == 0);
	CHECK(!find(&fv, missing));
	fsview_free(&fv);
	char ro[128];
	path_in(ro, sizeof ro, "ro");
	const char *both[] = { ro, NULL };
	CHECK(fsview_plan(&fv, both, both, false, "/usr/bin/true", false, "t: sandbox", &err) < 0);
	snprintf(want, sizeof want, "t: sandbox.write_paths[0]: %s is also in read_paths; list it once", ro);
	CHECK_STREQ(err.msg, want);
}

TEST(plan_refuses_a_script_in_the_scratch_area_but_not_a_binary)
{
	struct fsview fv;
	struct tg_error err = { "" };
	CHECK(fsview_plan(&fv, NULL, NULL, false, "/tmp/x/tool.sh", true, "t: sandbox", &err) < 0);
	CHECK_STREQ(err.msg, "t: sandbox: command: the script /tmp/x/tool.sh is inside /tmp, which the "
	            "sandbox gives each tool on its own; install it elsewhere");
	CHECK(fsview_plan(&fv, NULL, NULL, false, "/tmp/x/tool", false, "t: sandbox", &err) == 0);
	CHECK(fv.n == 0);
	fsview_free(&fv);
}

/* Build the view in a child (new mount and pid namespaces, as the sandbox
   does) and report what it sees through the exit status. */
static int run_in_view(const struct fsview *fv, int (*probe)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNS | CLONE_NEWPID) != 0)
			_exit(100);
		pid_t inner = fork();
		if (inner == 0) {
			const char *step = "";
			if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
				_exit(101);
			if (fsview_enter(fv, 65534, 65534, 4, false, &step) != 0) {
				fprintf(stderr, "fsview_enter: %s: %s\n", step, strerror(errno));
				_exit(102);
			}
			_exit(probe());
		}
		int st;
		waitpid(inner, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 103);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 104;
}

static char probe_ro[128], probe_rw[128];

static int probe_view(void)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof p, "%s/file.txt", probe_ro);
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return 1;                          /* a read path is readable */
	close(fd);
	if (open(p, O_WRONLY) >= 0 || errno != EROFS)
		return 2;                          /* ... and read-only */
	snprintf(p, sizeof p, "%s/new", probe_rw);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return 3;                          /* a write path is writable */
	close(fd);
	if (stat("/etc/passwd", &st) == 0 || stat("/home", &st) == 0 || stat("/var/lib", &st) == 0)
		return 4;                          /* nothing else of the host */
	if (stat("/.toolgate-oldroot", &st) == 0)
		return 5;                          /* the old root is gone */
	if (open("/dev/null", O_WRONLY) < 0 || stat("/dev/sda", &st) == 0 || stat("/dev/vda", &st) == 0)
		return 6;                          /* the minimal /dev */
	char cwd[64];
	if (!getcwd(cwd, sizeof cwd) || strcmp(cwd, "/tmp") != 0)
		return 7;
	if (stat("/tmp", &st) != 0 || st.st_uid != 65534 || (st.st_mode & 07777) != 0700)
		return 8;                          /* the scratch belongs to the tool */
	if (mkdir("/newdir", 0755) == 0 || errno != EROFS)
		return 9;                          /* the root itself is read-only */
	if (stat("/proc/1/status", &st) != 0 || stat("/proc/2", &st) == 0)
		return 10;                         /* its own /proc: pid 1 is itself */
	return 0;
}

TEST(the_view_shows_exactly_the_plan)
{
	path_in(probe_ro, sizeof probe_ro, "ro");
	path_in(probe_rw, sizeof probe_rw, "rw");
	const char *read[] = { "/usr", "/lib", "/lib64", probe_ro, NULL }, *write[] = { probe_rw, NULL };
	struct fsview fv;
	struct tg_error err = { "" };
	CHECK(fsview_plan(&fv, read, write, true, "/usr/bin/true", false, "t", &err) == 0);
	int rc = run_in_view(&fv, probe_view);
	if (rc != 0)
		fprintf(stderr, "    probe_view said %d\n", rc);
	CHECK(rc == 0);
	char p[160];
	snprintf(p, sizeof p, "%s/new", probe_rw);
	struct stat st;
	CHECK(stat(p, &st) == 0);   /* what it wrote there is on the host */
	fsview_free(&fv);
}

static int probe_swapped_link(void)
{
	char p[256];
	snprintf(p, sizeof p, "%s/file.txt", probe_ro);
	return open(p, O_RDONLY) >= 0 ? 1 : 0;
}

TEST(a_symbolic_link_planted_after_the_load_makes_the_view_fail_instead_of_following_it)
{
	path_in(probe_ro, sizeof probe_ro, "swap");
	mkdir(probe_ro, 0755);
	const char *read[] = { probe_ro, NULL };
	struct fsview fv;
	struct tg_error err = { "" };
	CHECK(fsview_plan(&fv, read, NULL, false, "/usr/bin/true", false, "t", &err) == 0);
	/* Now the directory becomes a link to somewhere else. */
	rmdir(probe_ro);
	CHECK(symlink("/etc", probe_ro) == 0);
	CHECK(run_in_view(&fv, probe_swapped_link) == 102);
	fsview_free(&fv);
}

int main(void)
{
	setup();
	RUN(plan_binds_read_and_write_paths_and_the_executable_parents_first);
	RUN(plan_leaves_out_an_executable_the_paths_already_show);
	RUN(plan_recreates_a_final_symbolic_link_and_refuses_one_on_the_way);
	RUN(plan_refuses_the_whole_host_the_reserved_areas_and_missing_paths);
	RUN(plan_refuses_a_script_in_the_scratch_area_but_not_a_binary);
	RUN(the_view_shows_exactly_the_plan);
	RUN(a_symbolic_link_planted_after_the_load_makes_the_view_fail_instead_of_following_it);
	teardown();
	return TEST_SUMMARY();
}
