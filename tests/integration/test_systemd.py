"""systemd: socket activation (LISTEN_FDS, as toolgated.socket hands the
socket over) and readiness notification (NOTIFY_SOCKET, as Type=notify
expects): READY=1 once the broker serves, RELOADING=1 with MONOTONIC_USEC and
READY=1 again around each SIGHUP (also when the reload fails), STOPPING=1 at
SIGTERM, WATCHDOG=1 while WATCHDOG_USEC asks for it.  The socket activation
runs under the real systemd-socket-activate; the notification socket is a
datagram socket this test owns, as systemd's would be."""
import json
import os
import signal
import socket
import subprocess
import time

from tglib import (Broker, TEST_TOOLS, TOOLGATED, Client, contains, eq, summary, test, text_of,
                   tool_file, wait_until)

ACTIVATE = "/usr/bin/systemd-socket-activate"
POLICY = {"principals": {"operator": {"uids": [0]}},
          "rules": [{"id": "all", "effect": "permit", "agents": ["operator"], "tools": ["*"]}]}
TOOLS = [tool_file("inspect", [os.path.join(TEST_TOOLS, "inspect")])]


def start(b, prefix=(), env=None, wait_socket=None):
    """Start toolgated for Broker b under prefix (e.g. systemd-socket-activate),
    with env added; wait until wait_socket (default: b.socket) answers."""
    e = dict(os.environ)
    for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "WATCHDOG_USEC",
              "WATCHDOG_PID"):
        e.pop(k, None)
    e.update(env or {})
    b.stderr = open(b.stderr_path, "ab")
    b.proc = subprocess.Popen(list(prefix) + [
        TOOLGATED, "--config-dir", b.config, "--state-dir", b.state, "--socket", b.socket,
        "--broker-id", "test-broker", "--foreground"], stdout=subprocess.DEVNULL, stderr=b.stderr,
        env=e)
    path = wait_socket or b.socket
    deadline = time.time() + 20
    while time.time() < deadline:
        if b.proc.poll() is not None:
            raise AssertionError("toolgated exited %d:\n%s" % (b.proc.returncode, b.log()))
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("toolgated did not listen on %s within 20 s:\n%s" % (path, b.log()))


def inspect_through(path):
    c = Client(path, 0, 0)
    r = c.call("inspect", {})
    c.close()
    eq(r.get("isError"), False, text_of(r))
    return json.loads(text_of(r))


@test
def socket_activation_serves_calls_on_the_passed_socket_and_creates_none():
    b = Broker(TOOLS, POLICY)
    activated = os.path.join(b.dir, "activated.sock")
    try:
        start(b, [ACTIVATE, "-l", activated], wait_socket=activated)
        seen = inspect_through(activated)
        eq(os.path.exists(b.socket), False, "the broker made no socket of its own at --socket")
        contains(b.log(), "listening on %s (socket activation) as broker test-broker" % activated)
        leaked = [v for v in seen["env"] if v.split("=")[0] in
                  ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET")]
        eq(leaked, [], "the tool's environment")
        eq(seen["fds"], [0, 1, 2], "the tool's open fds (the passed socket is close-on-exec)")
        eq(b.stop(), 0)
        eq(os.path.exists(activated), True, "the socket belongs to the manager: left in place")
    finally:
        b.close()


def poke(family, kind, address):
    """systemd-socket-activate starts the daemon at the first connection (or
    datagram), as systemd does: make one once the socket exists."""
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            s = socket.socket(family, kind)
            if kind == socket.SOCK_DGRAM:
                s.sendto(b"x", address)
            else:
                s.connect(address)
            s.close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("systemd-socket-activate did not listen on %r" % (address,))


def activation_error(listen_args, family=socket.AF_UNIX, kind=socket.SOCK_STREAM):
    """Start the broker under systemd-socket-activate with listen_args(b)
    (the first -l's address is poked); its exit status, last line on stderr,
    and whether it made its own socket."""
    b = Broker(TOOLS, POLICY)
    try:
        args = listen_args(b)
        addr = args[args.index("-l") + 1]
        if family == socket.AF_INET:
            host, port = addr.split(":")
            addr = (host, int(port))
        p = subprocess.Popen([ACTIVATE] + args + [
            TOOLGATED, "--config-dir", b.config, "--state-dir", b.state, "--socket", b.socket,
            "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        poke(family, kind, addr)
        _, err = p.communicate(timeout=30)
        return p.returncode, err.strip().splitlines()[-1], os.path.exists(b.socket)
    finally:
        b.close()


@test
def a_datagram_socket_from_the_manager_is_refused_at_start():
    rc, last, made = activation_error(lambda b: ["--datagram", "-l", os.path.join(b.dir, "d.sock")],
                                      kind=socket.SOCK_DGRAM)
    eq((rc, last, made), (1, "toolgated: socket activation: fd 3 is not a stream socket "
                             "(use ListenStream=)", False))


@test
def a_tcp_socket_from_the_manager_is_refused_at_start():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rc, last, made = activation_error(lambda b: ["-l", "127.0.0.1:%d" % port], family=socket.AF_INET)
    eq((rc, last, made), (1, "toolgated: socket activation: fd 3 is not a Unix socket: peers are "
                             "identified by SO_PEERCRED, so ListenStream= must be a path", False))


@test
def two_sockets_from_the_manager_are_refused_at_start():
    rc, last, made = activation_error(lambda b: ["-l", os.path.join(b.dir, "a.sock"),
                                                 "-l", os.path.join(b.dir, "b.sock")])
    eq((rc, last, made), (1, "toolgated: socket activation: 2 sockets were passed (LISTEN_FDS=2); "
                             "toolgated takes exactly one, the Unix stream socket of "
                             "toolgated.socket", False))


@test
def listen_variables_meant_for_another_process_are_ignored_and_hidden_from_tools():
    b = Broker(TOOLS, POLICY)
    try:
        start(b, env={"LISTEN_PID": "1", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "x"})
        seen = inspect_through(b.socket)
        eq([v for v in seen["env"] if v.startswith("LISTEN_")], [], "the tool's environment")
        contains(b.log(), "listening on %s as broker" % b.socket)
    finally:
        b.close()


class Notifications:
    """The service manager's side: a datagram socket, path or abstract."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.address = address

    def env_value(self):
        a = self.address
        return "@" + a[1:].decode() if isinstance(a, bytes) else a

    def next(self, timeout=20):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096).decode()
        except socket.timeout:
            raise AssertionError("no notification within %s s" % timeout)
        return dict(line.split("=", 1) for line in data.split("\n"))

    def next_not_watchdog(self, timeout=20):
        while True:
            m = self.next(timeout)
            if m != {"WATCHDOG": "1"}:
                return m

    def close(self):
        self.sock.close()
        if isinstance(self.address, str) and os.path.exists(self.address):
            os.unlink(self.address)


@test
def ready_reloading_ready_stopping_in_order_around_sighup_and_sigterm():
    b = Broker(TOOLS, POLICY)
    n = Notifications(os.path.join(b.dir, "notify.sock"))
    try:
        start(b, env={"NOTIFY_SOCKET": n.env_value()})
        eq(n.next(), {"READY": "1", "STATUS": "started; serving 1 tools from %s" % b.config})
        seen = inspect_through(b.socket)
        eq([v for v in seen["env"] if v.startswith(("NOTIFY_", "WATCHDOG_"))], [], "tool env")

        b.write_tool(tool_file("inspect2", [os.path.join(TEST_TOOLS, "inspect")]))
        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        b.proc.send_signal(signal.SIGHUP)
        m = n.next()
        after = time.clock_gettime(time.CLOCK_MONOTONIC)
        usec = int(m.pop("MONOTONIC_USEC"))
        eq(m, {"RELOADING": "1", "STATUS": "reloading the configuration"})
        if not before * 1e6 <= usec <= after * 1e6:
            raise AssertionError("MONOTONIC_USEC %d is not CLOCK_MONOTONIC between %f and %f"
                                 % (usec, before, after))
        eq(n.next(), {"READY": "1", "STATUS": "configuration reloaded; serving 2 tools from %s"
                      % b.config})

        with open(os.path.join(b.config, "tools.d", "broken.json"), "w") as f:
            f.write('{"name": "broken"')
        b.proc.send_signal(signal.SIGHUP)
        m = n.next()
        m.pop("MONOTONIC_USEC")
        eq(m, {"RELOADING": "1", "STATUS": "reloading the configuration"})
        eq(n.next(), {"READY": "1", "STATUS": "reload failed, the previous configuration stays in "
                      "force (see the log); serving 2 tools from %s" % b.config})

        b.proc.send_signal(signal.SIGTERM)
        eq(n.next(), {"STOPPING": "1", "STATUS": "draining: no new calls; 0 in flight, grace 10 s"})
        b.proc.wait(30)
        eq(b.proc.returncode, 0)
        n.sock.settimeout(0.2)
        try:
            extra = n.sock.recv(4096)
        except socket.timeout:
            extra = None
        eq(extra, None, "nothing after STOPPING=1")
    finally:
        n.close()
        b.close()


@test
def an_abstract_notify_socket_is_written_with_a_leading_at():
    b = Broker(TOOLS, POLICY)
    n = Notifications(b"\0toolgate-test-%d" % os.getpid())
    try:
        start(b, env={"NOTIFY_SOCKET": n.env_value()})
        eq(n.next()["READY"], "1")
    finally:
        n.close()
        b.close()


@test
def the_watchdog_is_pinged_at_half_its_period_from_the_event_loop():
    b = Broker(TOOLS, POLICY)
    n = Notifications(os.path.join(b.dir, "notify.sock"))
    try:
        start(b, env={"NOTIFY_SOCKET": n.env_value(), "WATCHDOG_USEC": "400000"})
        eq(n.next()["READY"], "1")
        t0 = time.monotonic()
        pings = 0
        while time.monotonic() - t0 < 2.0:
            eq(n.next(timeout=1), {"WATCHDOG": "1"})
            pings += 1
        # every 200 ms: about 10 in 2 s (one batch may run late on a busy host)
        if not 7 <= pings <= 12:
            raise AssertionError("%d WATCHDOG=1 pings in 2 s, want about 10" % pings)
    finally:
        n.close()
        b.close()


@test
def a_watchdog_meant_for_another_process_is_not_pinged():
    b = Broker(TOOLS, POLICY)
    n = Notifications(os.path.join(b.dir, "notify.sock"))
    try:
        start(b, env={"NOTIFY_SOCKET": n.env_value(), "WATCHDOG_USEC": "100000",
                      "WATCHDOG_PID": "1"})
        eq(n.next()["READY"], "1")
        n.sock.settimeout(0.6)
        try:
            extra = n.sock.recv(4096)
        except socket.timeout:
            extra = None
        eq(extra, None, "no WATCHDOG=1 for WATCHDOG_PID=1")
    finally:
        n.close()
        b.close()


@test
def a_notify_socket_nobody_listens_on_is_logged_once_and_the_broker_serves():
    b = Broker(TOOLS, POLICY)
    try:
        start(b, env={"NOTIFY_SOCKET": os.path.join(b.dir, "nobody.sock")})
        inspect_through(b.socket)
        b.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reloaded" in b.log(), what="the reload")
        eq(b.stop(), 0)
        eq(b.log().count("sd_notify to %s/nobody.sock: No such file or directory (further failures "
                         "are not logged)" % b.dir), 1, b.log())
    finally:
        b.close()


summary()
