/*
 * test_sdnotify: systemd's notification protocol and socket activation as
 * the broker speaks them (sdnotify.c, sdlisten.c), with the environment a
 * service manager would set.  The whole exchange with a real broker is in
 * tests/integration/test_systemd.py.
 */
#include "sdlisten.h"
#include "sdnotify.h"
#include "testlib.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void clear_env(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

TEST(without_notify_socket_every_message_is_a_no_op)
{
	clear_env();
	struct sdnotify n;
	struct tg_error err;
	CHECK(sdnotify_open(&n, 0, &err) == 0);
	CHECK(n.fd == -1);
	CHECK(sdnotify_send(&n, "READY=1", &err) == 0);
	CHECK(sdnotify_watchdog_wait_ms(&n, 0) == -1);
	sdnotify_close(&n);
}

TEST(a_relative_notify_socket_is_refused_by_name_and_removed_from_the_environment)
{
	clear_env();
	setenv("NOTIFY_SOCKET", "run/notify", 1);
	struct sdnotify n;
	struct tg_error err;
	CHECK(sdnotify_open(&n, 0, &err) == -1);
	CHECK_STREQ(err.msg, "NOTIFY_SOCKET \"run/notify\": not an absolute path or an abstract name "
	            "starting with '@'");
	CHECK(getenv("NOTIFY_SOCKET") == NULL);
	CHECK(n.fd == -1);
}

TEST(a_malformed_watchdog_period_is_refused_by_name)
{
	clear_env();
	setenv("NOTIFY_SOCKET", "@x", 1);
	setenv("WATCHDOG_USEC", "30s", 1);
	struct sdnotify n;
	struct tg_error err;
	CHECK(sdnotify_open(&n, 0, &err) == -1);
	CHECK_STREQ(err.msg, "WATCHDOG_USEC \"30s\": not a positive number of microseconds");
	CHECK(getenv("WATCHDOG_USEC") == NULL);
}

TEST(messages_reach_an_abstract_socket_and_the_watchdog_runs_at_half_its_period)
{
	clear_env();
	char name[64];
	snprintf(name, sizeof name, "tg-unit-notify-%d", (int)getpid());
	int rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path + 1, name, strlen(name));
	CHECK(bind(rx, (struct sockaddr *)&sa,
	           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))) == 0);
	char env[80];
	snprintf(env, sizeof env, "@%s", name);
	setenv("NOTIFY_SOCKET", env, 1);
	setenv("WATCHDOG_USEC", "3000000", 1);
	char pid[16];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);

	struct sdnotify n;
	struct tg_error err;
	CHECK(sdnotify_open(&n, 1000, &err) == 0);
	CHECK(sdnotify_send(&n, "READY=1\nSTATUS=up", &err) == 0);
	char buf[256];
	ssize_t r = recv(rx, buf, sizeof buf - 1, MSG_DONTWAIT);
	buf[r > 0 ? r : 0] = '\0';
	CHECK_STREQ(buf, "READY=1\nSTATUS=up");

	CHECK(sdnotify_watchdog_wait_ms(&n, 1000) == 1500);
	CHECK(sdnotify_watchdog(&n, 2000, &err) == 0);   /* not due: nothing sent */
	CHECK(recv(rx, buf, sizeof buf, MSG_DONTWAIT) == -1);
	CHECK(sdnotify_watchdog(&n, 2500, &err) == 0);
	r = recv(rx, buf, sizeof buf - 1, MSG_DONTWAIT);
	buf[r > 0 ? r : 0] = '\0';
	CHECK_STREQ(buf, "WATCHDOG=1");
	CHECK(sdnotify_watchdog_wait_ms(&n, 2500) == 1500);

	CHECK(sdnotify_reloading(&n, "reloading", &err) == 0);
	r = recv(rx, buf, sizeof buf - 1, MSG_DONTWAIT);
	buf[r > 0 ? r : 0] = '\0';
	CHECK(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	CHECK_CONTAINS(buf, "\nSTATUS=reloading");

	close(rx);   /* nobody listens any more: the failure is counted */
	CHECK(sdnotify_send(&n, "STOPPING=1", &err) == -1);
	CHECK_CONTAINS(err.msg, "sd_notify to @tg-unit-notify-");
	CHECK_CONTAINS(err.msg, ": Connection refused");
	CHECK(n.failures == 1);
	sdnotify_close(&n);
}

TEST(no_socket_is_taken_when_listen_pid_names_another_process_and_the_variables_go)
{
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_FDNAMES", "toolgated.socket", 1);
	char path[120];
	struct tg_error err;
	CHECK(sdlisten_socket(path, sizeof path, &err) == -2);
	CHECK(getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL && getenv("LISTEN_FDNAMES") == NULL);
}

TEST(a_passed_fd_that_is_not_listening_is_refused_and_made_close_on_exec)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	int saved = dup(SDLISTEN_FIRST_FD);   /* whatever the harness has there */
	CHECK(dup2(sv[0], SDLISTEN_FIRST_FD) == SDLISTEN_FIRST_FD);
	char pid[16];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	char path[120];
	struct tg_error err;
	CHECK(sdlisten_socket(path, sizeof path, &err) == -1);
	CHECK_STREQ(err.msg, "socket activation: fd 3 is not listening (Accept=no is required)");
	CHECK(fcntl(SDLISTEN_FIRST_FD, F_GETFD) == FD_CLOEXEC);

	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "one", 1);
	CHECK(sdlisten_socket(path, sizeof path, &err) == -1);
	CHECK_STREQ(err.msg, "socket activation: LISTEN_FDS \"one\" is not a number");

	if (saved >= 0) {
		dup2(saved, SDLISTEN_FIRST_FD);
		close(saved);
	} else {
		close(SDLISTEN_FIRST_FD);
	}
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	RUN(without_notify_socket_every_message_is_a_no_op);
	RUN(a_relative_notify_socket_is_refused_by_name_and_removed_from_the_environment);
	RUN(a_malformed_watchdog_period_is_refused_by_name);
	RUN(messages_reach_an_abstract_socket_and_the_watchdog_runs_at_half_its_period);
	RUN(no_socket_is_taken_when_listen_pid_names_another_process_and_the_variables_go);
	RUN(a_passed_fd_that_is_not_listening_is_refused_and_made_close_on_exec);
	return TEST_SUMMARY();
}
