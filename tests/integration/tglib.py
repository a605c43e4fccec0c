"""tglib: helpers for toolgate's integration tests (Python stdlib only).

A test starts the real toolgated on a temporary config and state dir and talks
to it as a client written only from SPEC.md: newline-delimited JSON-RPC 2.0
over the Unix socket.  Clients can connect as another uid: a forked child
drops to that uid, connects (SO_PEERCRED is fixed at connect time), and hands
the connected socket back over SCM_RIGHTS.
"""
import json
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLGATED = os.path.abspath(os.environ.get("TOOLGATED", os.path.join(REPO, "bin/toolgated")))
TOOLGATE = os.path.abspath(os.environ.get("TOOLGATE", os.path.join(REPO, "bin/toolgate")))
TEST_TOOLS = os.path.join(REPO, "build/test-tools")

_results = {"passed": 0, "failed": 0}


def test(fn):
    """Run fn now; print ok/FAIL with the assertion that failed."""
    try:
        fn()
        _results["passed"] += 1
        print("ok   " + fn.__name__, flush=True)
    except Exception:
        _results["failed"] += 1
        print("FAIL " + fn.__name__, flush=True)
        for line in traceback.format_exc().splitlines():
            print("    " + line, flush=True)
    return fn


def summary():
    print("%d passed, %d failed" % (_results["passed"], _results["failed"]), flush=True)
    sys.exit(1 if _results["failed"] else 0)


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s\n      want: %r\n       got: %r" % (what, want, got))


def contains(hay, needle, what=""):
    if needle not in hay:
        raise AssertionError("%s\n      want to contain: %r\n                got: %r" % (what, needle, hay))


def tool_file(name, command, effect="read", limits=None, profile="default", schema=None, **extra):
    t = {"name": name, "description": "test tool " + name, "command": command,
         "input_schema": schema or {"type": "object"}, "effect": effect,
         "sandbox": {"profile": profile, "network": "none", "run_as": "nobody",
                     "limits": dict({"timeout_ms": 10000, "cpu_seconds": 5, "memory_mb": 256,
                                     "processes": 64, "open_files": 64, "file_size_mb": 1,
                                     "output_bytes": 65536}, **(limits or {}))}}
    t.update(extra)
    return t


class Broker:
    """A toolgated on a temporary config dir, state dir and socket."""

    def __init__(self, tools, policy, profiles=None, args=(), env=None, run_uid=None, nofile=None):
        self.dir = tempfile.mkdtemp(prefix="tg-it-")
        os.chmod(self.dir, 0o755)
        self.config = os.path.join(self.dir, "config")
        self.state = os.path.join(self.dir, "state")
        self.socket = os.path.join(self.dir, "tg.sock")
        os.makedirs(os.path.join(self.config, "tools.d"))
        os.makedirs(os.path.join(self.config, "policies"))
        shutil.copytree(os.path.join(REPO, "sandbox"), os.path.join(self.config, "sandbox"))
        for name, doc in (profiles or {}).items():
            with open(os.path.join(self.config, "sandbox", name + ".json"), "w") as f:
                json.dump(doc, f)
        for t in tools:
            self.write_tool(t)
        with open(os.path.join(self.config, "policies", "test.json"), "w") as f:
            json.dump(policy, f)
        self.stderr_path = os.path.join(self.dir, "toolgated.log")
        self.args = list(args)
        self.env = env
        self.proc = None
        # run_uid: run toolgated as this ordinary uid (rootless mode); its
        # directories are then its own.
        self.run_uid = run_uid
        # nofile: run toolgated with this RLIMIT_NOFILE (soft and hard).
        self.nofile = nofile

    def write_tool(self, t):
        with open(os.path.join(self.config, "tools.d", t["name"] + ".json"), "w") as f:
            json.dump(t, f)

    def start(self):
        env = dict(os.environ)
        env.update(self.env or {})
        self.stderr = open(self.stderr_path, "ab")
        prefix = []
        if self.run_uid is not None:
            for root, dirs, files in os.walk(self.dir):
                for n in dirs + files:
                    os.lchown(os.path.join(root, n), self.run_uid, self.run_uid)
            os.chown(self.dir, self.run_uid, self.run_uid)
            prefix = ["setpriv", "--reuid", str(self.run_uid), "--regid", str(self.run_uid),
                      "--clear-groups", "--"]
        self.proc = subprocess.Popen(
            prefix + [TOOLGATED, "--config-dir", self.config, "--state-dir", self.state,
                      "--socket", self.socket, "--broker-id", "test-broker", "--foreground"] + self.args,
            stdout=subprocess.DEVNULL, stderr=self.stderr, env=env, preexec_fn=self._limits)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("toolgated exited %d:\n%s" % (self.proc.returncode, self.log()))
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.socket)
                s.close()
                return self
            except OSError:
                time.sleep(0.02)
        raise AssertionError("toolgated did not listen within 20 s:\n" + self.log())

    def _limits(self):
        if self.nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def log(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    @property
    def audit_log(self):
        return os.path.join(self.state, "audit", "audit.log")

    @property
    def audit_pub(self):
        return os.path.join(self.state, "keys", "audit.pub")

    def records(self):
        """Every record: the closed segments in order, then audit.log."""
        d = os.path.dirname(self.audit_log)
        names = sorted(n for n in os.listdir(d) if n.startswith("audit-") and n.endswith(".log"))
        out = []
        for n in names + ["audit.log"]:
            with open(os.path.join(d, n)) as f:
                out += [json.loads(l) for l in f]
        return out

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("toolgated did not stop within %d s" % timeout)
        return self.proc.returncode if self.proc else None

    def close(self):
        try:
            self.stop()
        finally:
            if self.proc and self.proc.returncode not in (0, None):
                print("    toolgated exit status %s; log:\n%s" % (self.proc.returncode, self.log()))
            shutil.rmtree(self.dir, ignore_errors=True)

    def client(self, uid=0, gid=None, init=True):
        return Client(self.socket, uid, uid if gid is None else gid, init)


def connect_as(path, uid, gid):
    """A socket connected to path by a process running as uid/gid."""
    if uid == 0 and gid == 0:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        return s
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        try:
            a.close()
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            socket.send_fds(b, [b"x"], [s.fileno()])
            os._exit(0)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
    b.close()
    _, fds, _, _ = socket.recv_fds(a, 1, 1)
    os.waitpid(pid, 0)
    a.close()
    if not fds:
        raise AssertionError("could not connect as uid %d" % uid)
    return socket.socket(fileno=fds[0])


class Client:
    def __init__(self, path, uid, gid, init=True):
        self.sock = connect_as(path, uid, gid)
        self.buf = b""
        self.next_id = 0
        self.pending = {}  # replies that arrived for other ids
        if init:
            r = self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                            "clientInfo": {"name": "it", "version": "1"}})
            assert "result" in r, r
            self.notify("notifications/initialized")

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw(json.dumps(obj).encode() + b"\n")

    def notify(self, method, params=None):
        m = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            m["params"] = params
        self.send(m)

    def call_async(self, method, params=None, id=None):
        if id is None:
            self.next_id += 1
            id = self.next_id
        m = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            m["params"] = params
        self.send(m)
        return id

    def read_msg(self, timeout=30):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("no message from the broker within %s s" % timeout)
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise AssertionError("the broker closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def wait(self, id, timeout=30):
        if id in self.pending:
            return self.pending.pop(id)
        deadline = time.time() + timeout
        while True:
            m = self.read_msg(max(0.01, deadline - time.time()))
            if "id" not in m:
                continue
            if m["id"] == id:
                return m
            self.pending[m["id"]] = m

    def request(self, method, params=None, timeout=30):
        return self.wait(self.call_async(method, params), timeout)

    def call(self, name, arguments=None, timeout=30):
        p = {"name": name}
        if arguments is not None:
            p["arguments"] = arguments
        r = self.request("tools/call", p, timeout)
        assert "result" in r, r
        return r["result"]

    def silent_for(self, seconds):
        """True when nothing at all arrives for that long."""
        if b"\n" in self.buf:
            return False
        r, _, _ = select.select([self.sock], [], [], seconds)
        return not r

    def close(self):
        self.sock.close()


def text_of(result):
    return "".join(c.get("text", "") for c in result.get("content", []))


def processes_with(marker):
    """Host pids whose command line contains marker."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(p))
        except OSError:
            pass
    return found


def wait_until(pred, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)
