"""The containment suite: every program in tests/hostile/ tries one way out of
the sandbox, run through a real broker as an ordinary tool (profile default,
network none, run_as nobody, tight limits).  Each reports one JSON line
{"escaped": bool, "detail": str}; this runner asserts the exact way each was
contained (the refusal the program saw, the signal that killed it, the
timeout), and checks on the host what a program cannot see for itself: no
marker file appears, nothing of a call outlives it, the host's hostname, a
host process of the same uid and the broker all survive, and no connection
reaches the TCP and abstract Unix listeners the test opens.

Cases that escape today, because the sandbox still lacks a piece that a
later issue adds, are in EXPECTED_GAPS: they run and are reported, never
asserted, so that CI stays green and nobody mistakes them for contained.
When one starts being contained, the report says so: move it out of the
list and into the asserted cases.

The programs are built here (the Makefile does not know them) into
build/hostile/, again only when a source is newer than its binary.
"""
import atexit
import concurrent.futures
import ctypes
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from tglib import (REPO, TOOLGATE, Broker, contains, eq, summary, test, text_of, tool_file,
                   wait_until)

SRC = os.path.join(REPO, "tests", "hostile")
OUT = os.path.join(REPO, "build", "hostile")
STATIC = {"x32", "int80"}  # no loader, no libc start-up: only the one foreign call
AGENT_UID = 41201
NOBODY = 65534
# TG_HOSTILE_ROOTLESS=1: the same suite against a broker run by an ordinary
# user (rootless mode), whose tools run as that user on the host.
ROOTLESS = os.environ.get("TG_HOSTILE_ROOTLESS") == "1"
ROOTLESS_UID = 41502
TOOL_UID = ROOTLESS_UID if ROOTLESS else NOBODY   # the tools' uid as the host sees it
MARK = "tgh%d" % os.getpid()          # short: it also names processes (comm, 15 bytes)
PEER_COMM = "tghp%d" % os.getpid()
PEER_SECRET = MARK + "-peersecret"
EPERM = "Operation not permitted"
# A path refused by permissions today, or not there at all (or read-only) once
# the tool gets its minimal filesystem view: contained either way.
NOFS = "(Permission denied|No such file or directory|Read-only file system)"
LIMITS = {"timeout_ms": 3000, "cpu_seconds": 2, "memory_mb": 128, "processes": 32,
          "open_files": 64, "file_size_mb": 1, "output_bytes": 65536}

# Escapes that today's sandbox does not stop yet: name -> why.  Reported,
# not asserted.  Each one names the missing piece that will close it.
EXPECTED_GAPS = {
    "memory_fork": "rlimits only (no cgroup on this host): memory_mb is RLIMIT_AS, per process, so 8 children hold about 8 x "
                   "memory_mb at once",
    "nproc_shared": "rlimits only (no cgroup on this host): RLIMIT_NPROC counts every process of uid nobody on the "
                    "host, so one nobody tool's fork bomb stops every other nobody tool from starting "
                    "while it runs (tools with \"run_as\": \"dynamic\" are not affected: asserted)",
}


# ---- building ----

def build():
    os.makedirs(OUT, exist_ok=True)
    header = os.path.join(SRC, "hostile.h")
    progs = sorted(f[:-2] for f in os.listdir(SRC) if f.endswith(".c"))

    def one(name):
        src, exe = os.path.join(SRC, name + ".c"), os.path.join(OUT, name)
        if os.path.exists(exe) and os.path.getmtime(exe) >= max(os.path.getmtime(src),
                                                               os.path.getmtime(header)):
            return name, None
        tmp = exe + ".tmp%d" % os.getpid()
        cmd = ["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"] + \
              (["-static"] if name in STATIC else []) + ["-o", tmp, src]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            return name, "%s\n%s" % (" ".join(cmd), p.stdout + p.stderr)
        os.chmod(tmp, 0o755)
        os.rename(tmp, exe)
        return name, None

    with concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        errors = [(n, e) for n, e in pool.map(one, progs) if e]
    if errors:
        for n, e in errors:
            print("FAIL building tests/hostile/%s.c:\n%s" % (n, e), flush=True)
        print("0 passed, %d failed" % len(errors), flush=True)
        sys.exit(1)
    return progs


PROGS = build()
H = lambda prog: os.path.join(OUT, prog)


# ---- host-side fixtures ----

def as_tool_uid():
    ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    os.setgroups([])
    os.setresgid(TOOL_UID, TOOL_UID, TOOL_UID)
    os.setresuid(TOOL_UID, TOOL_UID, TOOL_UID)


# A listener on the host's loopback and one on an abstract Unix name: a tool
# with network "none" must reach neither.
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.bind(("127.0.0.1", 0))
tcp.listen(8)
tcp.setblocking(False)
TCP_PORT = tcp.getsockname()[1]
ABSTRACT = "tg-hostile-" + MARK
unix_l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
unix_l.bind("\0" + ABSTRACT)
unix_l.listen(8)
unix_l.setblocking(False)

# A host process of the same uid as the tools (as a service run as nobody
# would be): kill(-1) and kill by pid must not reach it, and its /proc/PID/root
# must not lead into the host's /tmp, where this file is.
CANARY_FILE = "tg-hostile-%s-canary" % MARK
with open(os.path.join("/tmp", CANARY_FILE), "w") as f:
    f.write("host /tmp content\n")
os.chmod(os.path.join("/tmp", CANARY_FILE), 0o644)
canary = subprocess.Popen([MARK + "-canary", "300"], executable=shutil.which("sleep"), preexec_fn=as_tool_uid,
                          cwd="/", stdin=subprocess.DEVNULL)

HOSTNAME = socket.gethostname()
DAEMON_FILE = "/var/tmp/%s-daemon" % MARK  # writable by nobody today: a survivor would show
b = None


def cleanup():
    """Runs at exit, also after a crash: nothing of this test may stay."""
    if b is not None:
        b.close()
    canary.kill()
    canary.wait()
    tcp.close()
    unix_l.close()
    for p in [os.path.join("/tmp", CANARY_FILE), DAEMON_FILE] + \
             ["/%s/PWNED-%s" % (d, MARK) for d in ("var/tmp", "dev/shm", "run/lock", "root", "etc", "usr/bin")]:
        try:
            os.unlink(p)
        except OSError:
            pass


atexit.register(cleanup)


# ---- the cases ----

class Case:
    """One tools.d entry: prog with args, and what containment looks like:
    the exact detail, a regular expression it must match, or a check of the
    whole result (for the cases that are killed rather than refused)."""

    def __init__(self, name, prog, *args, detail=None, match=None, check=None, limits=None, env=None,
                 network="none"):
        self.name, self.prog, self.args = name, prog, [str(a) for a in args]
        self.detail, self.match, self.check = detail, match, check
        self.limits, self.env, self.network = limits, env, network

    def tool(self):
        t = tool_file("h." + self.name, [H(self.prog)] + self.args,
                      limits=dict(LIMITS, **(self.limits or {})),
                      env=dict({"LANG": "C.UTF-8"}, **(self.env or {})))
        t["sandbox"]["network"] = self.network
        return t


def shm_stays_private(r):
    """write_dev_shm: the tool's /dev/shm is its scratch; the host's has no such file."""
    rep = json.loads(text_of(r).split("\n", 1)[0])
    eq(rep["detail"], "created /dev/shm/PWNED-%s (write: 6)" % MARK)
    eq(os.path.exists("/dev/shm/PWNED-" + MARK), False, "the host's /dev/shm has the tool's file")


def refused(call):
    return "%s: %s" % (call, EPERM)


# Filled in once the broker's paths are known (see below).
BROKER_PATHS = {}


def cases():
    sock, state, config = BROKER_PATHS["socket"], BROKER_PATHS["state"], BROKER_PATHS["config"]
    pwn = lambda d: os.path.join(d, "PWNED-" + MARK)
    return [
        # other processes
        Case("ptrace_init", "ptrace_init", detail=refused("ptrace(PTRACE_ATTACH, 1)")),
        Case("ptrace_child", "ptrace_child", detail=refused("ptrace(PTRACE_SEIZE, child)") + "; " +
             refused("ptrace(PTRACE_ATTACH, child)")),
        Case("process_vm_readv", "process_vm_readv", detail=refused("process_vm_readv(child)")),
        Case("pidfd_getfd", "pidfd_getfd", detail=refused("pidfd_getfd(child, 0)")),
        Case("kill_all", "kill_all", detail="kill(-1, SIGKILL): No such process"),
        Case("kill_visible", "kill_visible", detail="0 targets in /proc: 0 killed, 0 ESRCH, 0 other errors"),
        Case("peer_environ", "peer_environ", PEER_COMM, PEER_SECRET,
             detail="no process named %s in /proc" % PEER_COMM),
        Case("peer_mem", "peer_mem", PEER_COMM, detail="no process named %s in /proc" % PEER_COMM),
        Case("peer_scratch", "peer_scratch", PEER_COMM, PEER_SECRET,
             detail="no process named %s in /proc" % PEER_COMM),
        # files
        Case("read_shadow", "read_file", "/etc/shadow", match=r"open /etc/shadow: " + NOFS),
        Case("read_kcore", "read_file", "/proc/kcore", match=r"open /proc/kcore: " + NOFS),
        Case("write_var_tmp", "write_file", pwn("/var/tmp"), match=r"create /var/tmp/PWNED-\S+: " + NOFS),
        # /dev/shm in the view is the call's own scratch: the file is made
        # there and dies with the call; the host's /dev/shm never sees it.
        Case("write_dev_shm", "write_file", pwn("/dev/shm"), check=lambda r: shm_stays_private(r)),
        Case("write_run_lock", "write_file", pwn("/run/lock"), match=r"create /run/lock/PWNED-\S+: " + NOFS),
        Case("write_root", "write_file", pwn("/root"), match=r"create /root/PWNED-\S+: " + NOFS),
        Case("write_etc", "write_file", pwn("/etc"), match=r"create /etc/PWNED-\S+: " + NOFS),
        Case("write_usr_bin", "write_file", pwn("/usr/bin"), match=r"create /usr/bin/PWNED-\S+: " + NOFS),
        Case("write_core_pattern", "open_write", "/proc/sys/kernel/core_pattern",
             match=r"open /proc/sys/kernel/core_pattern for writing: " + NOFS),
        Case("write_proc_hostname", "open_write", "/proc/sys/kernel/hostname",
             match=r"open /proc/sys/kernel/hostname for writing: " + NOFS),
        Case("write_release_agent", "open_write", "/sys/fs/cgroup/memory/release_agent",
             match=r"open /sys/fs/cgroup/memory/release_agent for writing: " + NOFS),
        Case("write_uevent_helper", "open_write", "/sys/kernel/uevent_helper",
             match=r"open /sys/kernel/uevent_helper for writing: " + NOFS),
        Case("proc_root_walk", "proc_root_walk", CANARY_FILE,
             detail="1 pids: 0 refused, 1 without it, 0 other errors"),
        Case("read_broker_config", "read_file", os.path.join(config, "policies", "test.json"),
             match=r"open \S+/policies/test.json: " + NOFS),
        Case("open_disk", "open_disk", match=r"/dev/vda: {0}; /dev/sda: {0}; /dev/nvme0n1: {0}; /dev/mem: {0}; "
             r"/dev/kmem: {0}; /dev/port: {0}; /dev/zram0: {0}; /dev/loop0: {0}".format(NOFS)),
        Case("overwrite_exe", "overwrite_exe",
             match=r"open /proc/self/exe for writing: (Text file busy|%s)" % NOFS[1:-1]),
        Case("scratch_fill", "scratch_fill", 64,
             match=r"stored 6[34] MiB in /tmp, then: No space left on device; limit 64 MiB"),
        # the broker
        Case("find_broker", "find_broker", detail="no toolgated process in /proc"),
        Case("broker_environ", "broker_environ", detail="no toolgated process in /proc"),
        # The socket is not in the tool's view at all.
        Case("broker_connect", "broker_connect", sock, detail="connect %s: No such file or directory" % sock),
        Case("broker_call", "broker_call", sock, "h.harmless",
             detail="connect %s: No such file or directory" % sock),
        Case("broker_state", "broker_state", state, match=r"read keys/audit.key: {0}; append to "
             r"audit/audit.log: {0}; create PWNED: {0}; create audit/PWNED: {0}".format(NOFS)),
        Case("broker_config", "broker_config", config, match=r"create tools.d/PWNED.json: {0}; create "
             r"policies/PWNED.json: {0}; open for writing sandbox/default.json: {0}".format(NOFS)),
        Case("env_dump", "env_dump", "LANG", "TMPDIR", "HOME", "PATH", match=r"[34] variables"),
        Case("inherited_fds", "inherited_fds", detail="no descriptor above 2"),
        # privileges
        Case("caps_nnp", "caps_nnp",
             detail="eff 0 prm 0 inh 0; bounding 0, ambient 0, no_new_privs 1, seccomp mode 2"),
        Case("setuid0", "setuid0", detail="; ".join(refused(c) for c in (
             "setresuid(0, 0, 0)", "setresgid(0, 0, 0)", "setgroups([0])"))),
        Case("rlimit_raise", "rlimit_raise", "CPU", "NOFILE", "FSIZE", "CORE",
             detail="; ".join(refused("raise " + r) for r in ("CPU", "NOFILE", "FSIZE", "CORE"))),
        # Memory and processes: rlimits only where no cgroup bounds the call.
        Case("rlimit_raise_mem", "rlimit_raise", "AS", "NPROC",
             check=lambda r: rlimits_hold_where_no_cgroup(r)),
        Case("oom_adj", "oom_adj", detail="open /proc/self/oom_score_adj: Permission denied"),  # Landlock: /proc is read-only
        Case("rt_sched", "rt_sched", detail=refused("sched_setscheduler(SCHED_FIFO, 99)") +
             "; setpriority(-20): Permission denied"),
        Case("personality", "personality", detail=refused("personality(READ_IMPLIES_EXEC)") + "; " +
             refused("personality(ADDR_NO_RANDOMIZE)")),
        # namespaces, mounts and the kernel
        Case("unshare_user", "unshare_user", detail=refused("unshare(CLONE_NEWUSER)")),
        Case("clone_newuser", "clone_newuser", detail=refused("clone(CLONE_NEWUSER)")),
        Case("clone3_newuser", "clone3_newuser", detail="clone3(CLONE_NEWUSER): Function not implemented"),
        Case("setns", "setns", detail=refused("setns")),
        Case("mount", "mount", detail=refused("mount tmpfs on /tmp") + "; " + refused("bind mount / on /tmp")),
        Case("chroot", "chroot", detail=refused("chroot(/tmp)")),
        Case("open_by_handle_at", "open_by_handle_at", detail=refused("open_by_handle_at(inode 2)")),
        Case("sethostname", "sethostname", "pwned-" + MARK,
             detail=refused("sethostname") + "; " + refused("setdomainname")),
        Case("keyctl", "keyctl", detail=refused("add_key") + "; " + refused("keyctl(KEYCTL_GET_KEYRING_ID)")),
        Case("bpf", "bpf", detail=refused("bpf(BPF_MAP_CREATE)")),
        Case("userfaultfd", "userfaultfd", detail=refused("userfaultfd")),
        Case("io_uring", "io_uring", detail=refused("io_uring_setup")),
        Case("perf_event_open", "perf_event_open", detail=refused("perf_event_open")),
        Case("kexec_load", "kexec_load", detail=refused("kexec_load")),
        Case("init_module", "init_module", detail=refused("finit_module(/dev/null)") + "; " +
             refused("init_module(empty)")),
        # getuid through the x32 ABI and through int 0x80 (getuid32)
        Case("x32", "x32", check=killed_for("x32 syscall 0x40000066")),
        Case("int80", "int80", check=killed_for("i386 syscall 199")),
        # terminals
        Case("tiocsti", "tiocsti", detail=refused("ioctl(0, TIOCSTI)") +
             "; open /dev/tty: No such file or directory"),
        Case("tiocsti_highbits", "tiocsti_highbits", detail=refused("ioctl(0, TIOCSTI | 1 << 32)")),
        Case("tioclinux", "tioclinux", detail=refused("ioctl(0, TIOCLINUX)")),
        Case("ctty_open", "ctty_open", match=r"/dev/tty: (No such device or address|{0}); /dev/console: "
             r"{0}; /dev/tty1: {0}".format(NOFS)),
        # network
        Case("tcp_connect", "tcp_connect", TCP_PORT,
             detail="connect 127.0.0.1:%d: Permission denied" % TCP_PORT),  # Landlock: no TCP at all
        Case("net_external", "net_external", detail="udp connect 1.1.1.1:53: Network is unreachable; "
             "tcp connect 1.1.1.1:80: Permission denied"),
        # network "loopback": its own lo is up (so TCP is allowed and a port
        # nobody listens on refuses), and the host's listener on the same
        # port of 127.0.0.1 is another namespace's.
        Case("tcp_connect_loopback", "tcp_connect", TCP_PORT, network="loopback",
             detail="connect 127.0.0.1:%d: Connection refused" % TCP_PORT),
        Case("abstract_unix", "abstract_unix", ABSTRACT, detail="connect @%s: Connection refused" % ABSTRACT),
        Case("socket_alg", "socket_family", "alg", detail=refused("socket(alg)")),
        Case("socket_vsock", "socket_family", "vsock", detail=refused("socket(vsock)")),
        Case("socket_netlink", "socket_family", "netlink", detail=refused("socket(netlink)")),
        Case("socket_packet", "socket_family", "packet", detail=refused("socket(packet)")),
        Case("socket_bluetooth", "socket_family", "bluetooth", detail=refused("socket(bluetooth)")),
        Case("socket_raw", "socket_family", "raw", detail=refused("socket(raw)")),
        # resources (slow or special: run by their own tests below)
        Case("fork_bomb", "fork_bomb", 32, MARK + "-fork",
             match=r"fork failed \(Resource temporarily unavailable\) after ([0-9]|[12][0-9]|3[01]) "
                   r"children; limit 32"),
        Case("memory_bomb", "memory_bomb", 128, check=lambda r: memory_bounded(r, "memory_bomb")),
        Case("memory_fork", "memory_fork", 128, 8, check=lambda r: memory_bounded(r, "memory_fork")),
        Case("fork_hold", "fork_bomb", 32, MARK + "-hold", 2, limits={"timeout_ms": 10000}),
        # A timeout well past cpu_seconds, so that it is the CPU limit that
        # must end the spin even on a loaded machine.
        Case("cpu_spin", "cpu_spin", check=killed_by_cpu_limit, limits={"timeout_ms": 6000}),
        Case("sigterm_ignore", "sigterm_ignore", MARK + "-term", check=timed_out),
        Case("stdout_flood", "stdout_flood", 64, check=output_cut),
        Case("daemon", "daemon", MARK + "-daemon", DAEMON_FILE,
             detail="daemon detached; the host decides whether it survived"),
        # the victim of the peer_* cases, and a harmless tool for liveness
        Case("peer_hold", "peer_hold", PEER_COMM, PEER_SECRET, 4, detail="held its secret",
             env={"PEER_SECRET": PEER_SECRET}, limits={"timeout_ms": 10000}),
    ]


# Whether the broker bounds each call by a cgroup (toolgate/status "resources"),
# known once it runs: the memory and process cases are judged by that.
CGROUPS = None
OOM = ("killed by signal 9 (SIGKILL): the kernel's OOM killer ended it when its processes "
       "reached its memory_mb limit (128 MiB)")


def rlimits_hold_where_no_cgroup(r):
    rep = json.loads(text_of(r).split("\n", 1)[0])
    if CGROUPS:
        # memory.max and pids.max bound the tree; the rlimits are left alone.
        eq(rep["detail"], "AS is unlimited; raise NPROC: " + EPERM)
    else:
        eq((rep["escaped"], rep["detail"]), (False, refused("raise AS") + "; " + refused("raise NPROC")))


def memory_bounded(r, name):
    """memory_bomb and memory_fork: never more than memory_mb at once.  With a
    cgroup the OOM killer ends whatever goes over (the tool itself, or the
    children, whose reports then never come); without, RLIMIT_AS refuses
    each process's mmap beyond it."""
    mb = r"([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])"
    if r["isError"]:
        eq(CGROUPS, True, "only a cgroup kills for memory: " + text_of(r))
        status = r["_meta"]["toolgate/execution"]["status"]
        if name == "memory_fork" and status.startswith("timed out after 3000 ms"):
            # The OOM killer picked children; the survivors hold the report
            # pipe open, so the tool waits until its timeout ends them all.
            if not re.fullmatch(r"timed out after 3000 ms; the tool and every process it started were "
                                r"killed; the OOM killer ended [1-8] of its processes at its memory_mb "
                                r"limit \(128 MiB\)", status):
                raise AssertionError("unexpected status: %r" % status)
            return
        eq(status, OOM)
        return
    rep = json.loads(text_of(r).split("\n", 1)[0])
    eq(rep["escaped"], False, rep["detail"])
    want = (r"mmap failed \(Cannot allocate memory\) after %s MiB; limit 128 MiB" % mb if name == "memory_bomb"
            else r"8 processes held %s MiB at once; limit 128 MiB" % mb)
    if not re.fullmatch(want, rep["detail"]):
        raise AssertionError("detail does not match\n      want: %s\n       got: %r" % (want, rep["detail"]))


def killed_for(call):
    """The broker kills a tool whose filter says kill, and names the call."""
    def check(r):
        eq(r["isError"], True, text_of(r))
        ex = r["_meta"]["toolgate/execution"]
        eq((ex["status"], ex["exit"]), ("killed by signal 9 (SIGKILL): its seccomp profile forbids " + call,
                                        128 + 9))
    return check


def killed_by_cpu_limit(r):
    # RLIMIT_CPU ends the tool (pid 1 of its namespace gets SIGKILL, never
    # SIGXCPU); the result says how much CPU it used against its limit, and
    # its 6 s timeout had not come.
    import re
    eq(r["isError"], True, text_of(r))
    ex = r["_meta"]["toolgate/execution"]
    eq(ex["exit"], 128 + 9, text_of(r))
    if not re.fullmatch(r"killed by signal 9 \(SIGKILL\) after \d+ ms of CPU time; "
                        r"its cpu_seconds limit is 2 s", ex["status"]):
        raise AssertionError("unexpected status: %r" % ex["status"])
    if ex["cpu_ms"] < 1000:
        raise AssertionError("it used only %d ms of CPU" % ex["cpu_ms"])
    if ex["duration_ms"] >= 6000:
        raise AssertionError("the spin ran %d ms: killed by the timeout, not by its CPU limit"
                             % ex["duration_ms"])


def timed_out(r):
    eq(r["isError"], True, text_of(r))
    eq(text_of(r), "h.sigterm_ignore failed: timed out after 3000 ms; the tool and every process it "
                   "started were killed")
    eq(r["_meta"]["toolgate/execution"]["exit"], 128 + 9)


FLOOD_LINE = '{"escaped": false, "detail": "flooding 64 MiB"}\n'


def output_cut(r):
    eq(r["isError"], False, text_of(r)[:200])
    ex = r["_meta"]["toolgate/execution"]
    total = len(FLOOD_LINE) + (64 << 20)
    eq((ex["stdout_bytes"], ex["truncated"], ex["exit"]), (total, True, 0))
    t = text_of(r)
    eq(t, (FLOOD_LINE + "A" * (65536 - len(FLOOD_LINE)) +
           "\n[toolgate: output cut at 65536 of %d bytes]" % total), "the kept output")


# ---- the broker ----

tempfile.tempdir = "/var/tmp"  # the broker's dirs where a real one's are: not under /tmp, which
try:                           # the tool's scratch tmpfs would hide by accident
    b = Broker([], {"principals": {"agent": {"uids": [AGENT_UID]}},
                    "rules": [{"id": "hostile", "effect": "permit", "agents": ["agent"],
                               "tools": ["h.*"]}]},
               env={"BROKER_SECRET": "must-not-leak", "TOOLGATE_TEST_SECRET": "must-not-leak"},
               args=["--kernel-audit"], run_uid=ROOTLESS_UID if ROOTLESS else None)
finally:
    tempfile.tempdir = None
BROKER_PATHS.update(socket=b.socket, state=b.state, config=b.config)
ALL = {c.name: c for c in cases()}
for c in ALL.values():
    b.write_tool(c.tool())
b.write_tool(tool_file("h.harmless", ["/bin/cat"], limits=LIMITS))
# The same fork bomb and a harmless tool with per-call uids (run_as "dynamic").
for _name, _tool in (("h.dyn.fork_hold", ALL["fork_hold"].tool()),
                     ("h.dyn.harmless", tool_file("h.dyn.harmless", ["/bin/cat"], limits=LIMITS))):
    _tool = dict(_tool, name=_name)
    _tool["sandbox"] = dict(_tool["sandbox"], run_as="dynamic")
    b.write_tool(_tool)
b.start()
_status = b.client(AGENT_UID).request("toolgate/status", {})["result"]
CGROUPS = _status["resources"].startswith("cgroup")
LANDLOCK_NAMED = _status["landlock_audit"].startswith("on")
if CGROUPS:
    # Closed by the call's cgroup: asserted below instead.
    EXPECTED_GAPS.pop("memory_fork")
    EXPECTED_GAPS.pop("nproc_shared")
elif ROOTLESS:
    # Each call's user namespace counts RLIMIT_NPROC on its own.
    EXPECTED_GAPS.pop("nproc_shared")
RESULTS = {}  # case name -> (result, parsed report or None)


def parse(r):
    first = text_of(r).split("\n", 1)[0]
    try:
        return json.loads(first)
    except ValueError:
        return None


def run_case(c, client=None):
    r = (client or b.client(AGENT_UID)).call("h." + c.name, {}, timeout=40)
    RESULTS[c.name] = (r, parse(r))
    return r


def assert_contained(c):
    r, rep = RESULTS[c.name]
    if c.check:
        c.check(r)
        return
    eq(r["isError"], False, text_of(r))
    if rep is None:
        raise AssertionError("no JSON report on stdout: %r" % text_of(r)[:300])
    eq(rep["escaped"], False, rep["detail"])
    if c.detail is not None:
        eq(rep["detail"], c.detail)
    if c.match is not None and not re.fullmatch(c.match, rep["detail"]):
        raise AssertionError("detail does not match\n      want: %s\n       got: %r" % (c.match, rep["detail"]))


def leftovers(marker, dynamic=False):
    """Host pids of uid nobody (or, with dynamic, of a dynamic uid) whose
    command line holds marker (the canary aside)."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == canary.pid:
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                if marker.encode() not in f.read():
                    continue
            uid = os.stat("/proc/" + p).st_uid
            if uid == TOOL_UID or (dynamic and 61184 <= uid <= 65519):
                found.append(int(p))
        except OSError:
            pass
    return found


def contained_test(c):
    def fn():
        run_case(c)
        assert_contained(c)
    fn.__name__ = "contained_" + c.name
    return fn


# ---- phase 1: the quick cases, one call each, in turn ----

SPECIAL = {"fork_hold", "fork_bomb", "memory_bomb", "cpu_spin", "sigterm_ignore", "stdout_flood", "daemon",
           "peer_hold", "peer_environ", "peer_mem", "peer_scratch"}
for c in ALL.values():
    if c.name in SPECIAL or c.name in EXPECTED_GAPS:
        continue
    test(contained_test(c))


@test
def contained_fork_bomb_stops_at_the_processes_limit_and_leaves_nothing():
    run_case(ALL["fork_bomb"])
    assert_contained(ALL["fork_bomb"])
    wait_until(lambda: not leftovers(MARK + "-fork"), 5, "the fork bomb's children to be gone")


# ---- phase 2: a running victim tool, and the cases that reach for it ----

@test
def another_running_tool_is_out_of_reach():
    c = b.client(AGENT_UID)
    hold = c.call_async("tools/call", {"name": "h.peer_hold", "arguments": {}})
    wait_until(lambda: leftovers(PEER_COMM), 5, "the victim tool to run")
    for name in ("peer_environ", "peer_mem", "peer_scratch"):
        run_case(ALL[name])
    RESULTS["peer_hold"] = (c.wait(hold, 20)["result"], None)
    RESULTS["peer_hold"] = (RESULTS["peer_hold"][0], parse(RESULTS["peer_hold"][0]))
    assert_contained(ALL["peer_hold"])
    for name in ("peer_environ", "peer_mem", "peer_scratch"):
        if name not in EXPECTED_GAPS:
            assert_contained(ALL[name])


# ---- phase 3: the slow ones at once, each on its own connection, while
# another connection must still be served ----

SLOW = ["cpu_spin", "sigterm_ignore", "memory_bomb", "stdout_flood", "daemon"]
slow_done = {}


@test
def the_broker_keeps_serving_while_hostile_tools_run():
    conns = {n: b.client(AGENT_UID) for n in SLOW}
    ids = {n: conns[n].call_async("tools/call", {"name": "h." + n, "arguments": {}}) for n in SLOW}
    t0 = time.time()
    wait_until(lambda: leftovers(MARK + "-term"), 5, "sigterm_ignore to run")
    h = b.client(AGENT_UID)
    answered = 0
    # Each harmless call starts while sigterm_ignore (which only the 3 s
    # timeout ends) and, at first, cpu_spin are still running.
    while time.time() - t0 < 2.0 and leftovers(MARK + "-term"):
        s = time.time()
        r = h.call("h.harmless", {"ping": answered}, timeout=5)
        eq((r["isError"], json.loads(text_of(r))), (False, {"ping": answered}))
        eq(h.request("ping", timeout=5)["result"], {})
        if time.time() - s > 1.0:
            raise AssertionError("a harmless call took %.2f s while the hostile tools ran" % (time.time() - s))
        answered += 1
    for n in SLOW:
        r = conns[n].wait(ids[n], 20)["result"]
        RESULTS[n] = (r, parse(r))
        slow_done[n] = time.time()
    if answered < 5:
        raise AssertionError("only %d harmless calls answered while the hostile tools ran" % answered)


for n in SLOW:
    def fn(n=n):
        if n not in RESULTS:
            raise AssertionError("it never ran (see the_broker_keeps_serving_while_hostile_tools_run)")
        assert_contained(ALL[n])
    fn.__name__ = "contained_" + n
    test(fn)


@test
def the_daemon_never_outlives_its_call():
    end = slow_done.get("daemon", time.time())
    time.sleep(max(0, end + 3.0 - time.time()))  # the daemon would write after 2 s
    eq(os.path.exists(DAEMON_FILE), False, "the daemon's marker file")
    eq(leftovers(MARK + "-daemon"), [], "processes named by the daemon's marker")


@test
def landlock_refusals_are_named_by_path_and_port_where_the_kernel_tells():
    if not LANDLOCK_NAMED:
        print("    skipped: %s" % _status["landlock_audit"], flush=True)
        return
    for name, want in (("oom_adj", "Landlock refused fs.write_file"),
                       ("tcp_connect", "Landlock refused net.connect_tcp 127.0.0.1:%d" % TCP_PORT)):
        r = RESULTS[name][0]
        print("    %s: %s" % (name, r["_meta"]["toolgate/execution"]["status"]), flush=True)
        contains(r["_meta"]["toolgate/execution"]["status"], want)
    contains(RESULTS["oom_adj"][0]["_meta"]["toolgate/execution"]["status"], "oom_score_adj")


# ---- host-side checks ----

@test
def nothing_of_any_call_is_left_running_on_the_host():
    wait_until(lambda: not leftovers(MARK), 5, "no process of uid nobody with the marker")


@test
def the_host_process_of_the_same_uid_and_the_broker_survive():
    eq(canary.poll(), None, "the canary (uid nobody, on the host) is alive")
    eq(b.proc.poll(), None, "the broker is alive")


@test
def the_hosts_hostname_is_unchanged():
    eq(socket.gethostname(), HOSTNAME)
    with open("/proc/sys/kernel/hostname") as f:
        eq(f.read().strip(), HOSTNAME)


@test
def no_connection_reached_the_host_listeners():
    for name, l in (("tcp 127.0.0.1:%d" % TCP_PORT, tcp), ("@" + ABSTRACT, unix_l)):
        try:
            conn, _ = l.accept()
            conn.close()
            raise AssertionError("%s accepted a connection" % name)
        except BlockingIOError:
            pass


@test
def no_file_appeared_where_a_contained_case_tried_to_write():
    for c in ALL.values():
        if c.prog == "write_file" and c.name not in EXPECTED_GAPS:
            eq(os.path.exists(c.args[0]), False, c.args[0])
    for rel in ("PWNED", "audit/PWNED"):
        eq(os.path.exists(os.path.join(b.state, rel)), False, rel)
    for rel in ("tools.d/PWNED.json", "policies/PWNED.json"):
        eq(os.path.exists(os.path.join(b.config, rel)), False, rel)


@test
def the_audit_log_still_verifies():
    p = subprocess.run([TOOLGATE, "audit", "verify", b.audit_log, "--key", b.audit_pub],
                       capture_output=True, text=True)
    eq(p.returncode, 0, p.stdout + p.stderr)


@test
def with_dynamic_uids_one_tools_fork_bomb_does_not_stop_another_tool():
    # The gap nproc_shared below, closed by "run_as": "dynamic": each call
    # has its own uid, so RLIMIT_NPROC counts only that call's processes.
    c = b.client(AGENT_UID)
    hold = c.call_async("tools/call", {"name": "h.dyn.fork_hold", "arguments": {}})
    wait_until(lambda: len(leftovers(MARK + "-hold", dynamic=True)) >= 20, 10,
               "the fork bomb's children")
    r = b.client(AGENT_UID).call("h.dyn.harmless", {"x": 1}, timeout=10)
    eq(r["isError"], False, text_of(r))
    eq(json.loads(text_of(r)), {"x": 1})
    c.wait(hold, 30)
    wait_until(lambda: not leftovers(MARK + "-hold", dynamic=True), 10, "nothing left running")


# ---- the gaps: run, reported, not asserted ----

def nproc_shared():
    """While fork_hold keeps its processes (up to the limit, counted over
    every process of uid nobody on the host), do other tools still start?
    The kernel judges RLIMIT_NPROC at the uid switch with ">", so the first
    one still squeezes in: start a lingering one (peer_hold), then a
    harmless one."""
    c = b.client(AGENT_UID)
    hold = c.call_async("tools/call", {"name": "h.fork_hold", "arguments": {}})
    wait_until(lambda: len(leftovers(MARK + "-hold")) >= 20, 5, "fork_hold's children")
    time.sleep(0.3)
    c2 = b.client(AGENT_UID)
    peer = c2.call_async("tools/call", {"name": "h.peer_hold", "arguments": {}})
    seen = []
    wait_until(lambda: leftovers(PEER_COMM) or c2.pending or not c2.silent_for(0.01), 3,
               "peer_hold to start or to be answered")
    r = b.client(AGENT_UID).call("h.harmless", {"x": 1}, timeout=10)
    for cl, i, n in ((c, hold, "fork_hold"), (c2, peer, "peer_hold")):
        rr = cl.wait(i, 20)["result"]
        if n == "peer_hold" and rr["isError"]:
            seen.append("peer_hold meanwhile: " + text_of(rr)[:160])
    if r["isError"]:
        seen.append("a harmless call meanwhile: " + text_of(r)[:160])
    if seen:
        return True, "; ".join(seen)
    return False, "a lingering and a harmless call meanwhile both ran"


HOST_JUDGED = {"nproc_shared": nproc_shared}

if CGROUPS or ROOTLESS:
    @test
    def with_cgroups_or_user_namespaces_one_tools_fork_bomb_does_not_stop_another():
        escaped, detail = nproc_shared()
        eq((escaped, detail), (False, "a lingering and a harmless call meanwhile both ran"))

print("expected gaps (reported, not asserted):", flush=True)
for name, why in EXPECTED_GAPS.items():
    if name in HOST_JUDGED:
        escaped, detail = HOST_JUDGED[name]()
        rep = {"escaped": escaped, "detail": detail}
    else:
        if name not in RESULTS:
            run_case(ALL[name])
        r, rep = RESULTS[name]
    if rep is None:
        state = "no report: " + text_of(r)[:200]
    elif rep["escaped"]:
        state = "ESCAPED: " + rep["detail"]
    else:
        state = "now contained (move it out of EXPECTED_GAPS and assert it): " + rep["detail"]
    print("  gap  %s: %s\n         why: %s" % (name, state, why), flush=True)

print("what each contained case saw:", flush=True)
for name in sorted(RESULTS):
    if name in EXPECTED_GAPS or name == "fork_hold":
        continue
    r, rep = RESULTS[name]
    print("  %-20s %s" % (name, rep["detail"] if rep else r["_meta"]["toolgate/execution"]["status"]),
          flush=True)

# ---- clean up: see cleanup(), registered with atexit ----

summary()
