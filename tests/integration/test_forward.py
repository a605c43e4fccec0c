"""test_forward.py: the audit forwarder against a real rsyslog over TLS.

It needs no broker: it builds tests/integration/forward_cli.c (the forwarder
module and nothing else) with scripts/build-one.sh, makes a private PKI with
the openssl CLI, starts rsyslogd with imtcp and the OpenSSL stream driver
(mutual TLS: the collector checks our client certificate by name), and
appends records to a fake audit.log as the broker would.  The collector writes
what its RFC 5424 parser made of each message as one JSON line, so the test
checks both the exact bytes we sent and that a real syslog parser agrees on
every field.

Needs: rsyslog and rsyslog-openssl (Debian), openssl.  Missing ones are a
failure that says what to install, never a skip.
"""
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tglib import REPO, contains, eq, summary, test  # noqa: E402

HOST_NAME = "fwd-test-host"
BROKER_ID = 'broker "one" [x]'
BROKER_ID_SD = 'broker \\"one\\" [x\\]'   # as RFC 5424 escapes it in a PARAM-VALUE
CLIENT_NAME = "toolgate-test-client"
WAIT = 20.0

RSYSLOGD = shutil.which("rsyslogd") or next(
    (p for p in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd") if os.path.exists(p)), None)
OSSL_DRIVER = glob.glob("/usr/lib/*/rsyslog/lmnsd_ossl.so") + glob.glob("/usr/lib/rsyslog/lmnsd_ossl.so")
OPENSSL = shutil.which("openssl")

WORK = tempfile.mkdtemp(prefix="tg-fwd-")
os.chmod(WORK, 0o755)
_procs = []


def run(argv, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(argv), r.returncode, r.stdout))
    return r.stdout


def wait_for(what, cond, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.05)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port):
    """Is something listening on 127.0.0.1/0.0.0.0:port?  (No probe connection:
    it would only put a TLS error into the collector's log.)"""
    want = ":%04X" % port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[1].endswith(want) and cols[3] == "0A":
                return True
    return False


# ---- PKI ----

def pki():
    d = os.path.join(WORK, "pki")
    os.makedirs(d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("[srv]\nsubjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n"
                "[cli]\nsubjectAltName = DNS:%s\nextendedKeyUsage = clientAuth\n" % CLIENT_NAME)

    def p(name):
        return os.path.join(d, name)

    def ca(name):
        run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", p(name + ".key"), "-out", p(name + ".pem"), "-days", "2", "-subj", "/CN=" + name])

    def leaf(name, issuer, cn, ext):
        run([OPENSSL, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + cn])
        run([OPENSSL, "x509", "-req", "-in", p(name + ".csr"), "-CA", p(issuer + ".pem"),
             "-CAkey", p(issuer + ".key"), "-CAcreateserial", "-out", p(name + ".pem"), "-days", "2",
             "-extfile", p("ext.cnf"), "-extensions", ext])

    ca("ca")
    ca("other-ca")
    leaf("server", "ca", "127.0.0.1", "srv")
    leaf("client", "ca", CLIENT_NAME, "cli")
    leaf("server-other", "other-ca", "127.0.0.1", "srv")    # right name, wrong CA
    return p


# ---- The collector ----

RSYSLOG_CONF = """
global(workDirectory="{dir}" maxMessageSize="64k"
       defaultNetstreamDriver="ossl" defaultNetstreamDriverCAFile="{ca}"
       defaultNetstreamDriverCertFile="{cert}" defaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1"
       streamDriver.authMode="x509/name" permittedPeer=["{peer}"])
template(name="fields" type="list") {{
  constant(value="{{")
  property(outname="pri" name="pri" format="jsonf") constant(value=",")
  property(outname="time" name="timereported" dateFormat="rfc3339" format="jsonf") constant(value=",")
  property(outname="hostname" name="hostname" format="jsonf") constant(value=",")
  property(outname="app" name="app-name" format="jsonf") constant(value=",")
  property(outname="procid" name="procid" format="jsonf") constant(value=",")
  property(outname="msgid" name="msgid" format="jsonf") constant(value=",")
  property(outname="sd" name="structured-data" format="jsonf") constant(value=",")
  property(outname="msg" name="msg" format="jsonf") constant(value=",")
  property(outname="raw" name="rawmsg" format="jsonf")
  constant(value="}}\\n")
}}
ruleset(name="forwarded") {{ action(type="omfile" file="{out}" template="fields") }}
input(type="imtcp" port="{port}" ruleset="forwarded")
"""


class Collector:
    """rsyslogd on a free port, writing each message it parsed as a JSON line."""

    def __init__(self, name, cert, key, ca):
        self.dir = os.path.join(WORK, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.out = os.path.join(self.dir, "received.jsonl")
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        with open(self.conf, "w") as f:
            f.write(RSYSLOG_CONF.format(dir=self.dir, ca=ca, cert=cert, key=key, peer=CLIENT_NAME,
                                        out=self.out, port=self.port))
        self.proc = None

    def start(self):
        log = open(os.path.join(self.dir, "rsyslogd.log"), "a")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile],
                                     stdout=log, stderr=log)
        _procs.append(self.proc)
        log.close()
        wait_for("rsyslogd to listen on port %d (see %s/rsyslogd.log)" % (self.port, self.dir),
                 lambda: listening(self.port) or self.proc.poll() is not None)
        if self.proc.poll() is not None:
            raise AssertionError("rsyslogd exited %d; see %s/rsyslogd.log" % (self.proc.returncode, self.dir))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=15)
        wait_for("port %d to close" % self.port, lambda: not listening(self.port))

    def received(self):
        """Every message so far, parsed; 'seq' is the audit record's, from MSG."""
        if not os.path.exists(self.out):
            return []
        msgs = []
        with open(self.out) as f:
            for line in f:
                if line.endswith("\n"):
                    m = json.loads(line)
                    m["seq"] = json.loads(m["msg"])["seq"]
                    msgs.append(m)
        return msgs

    def seqs(self):
        return [m["seq"] for m in self.received()]


# ---- The forwarder (tests/integration/forward_cli.c) ----

def build_cli():
    out = os.path.join(WORK, "forward_cli")
    env = dict(os.environ)
    # In the sanitizer pass (make test runs everything twice), build it sanitized too.
    if "/asan/" in os.environ.get("TOOLGATED", ""):
        env["SAN"] = "1"
    run([os.path.join(REPO, "scripts/build-one.sh"), out, "tests/integration/forward_cli.c",
         "src/forward.c", "src/forward_msg.c", "src/audit_files.c", "src/error.c", "src/jsonrpc.c", "src/fileio.c", "-lssl"],
        cwd=REPO, env=env)
    return out


class Forwarder:
    def __init__(self, cli, state, port, ca, cert=None, key=None, host="127.0.0.1"):
        self.status_path = os.path.join(state, "status-%d.json" % port)
        self.argv = [cli, "--host", host, "--port", str(port), "--ca", ca,
                     "--log", os.path.join(state, "audit.log"),
                     "--cursor", os.path.join(state, "forward.cursor"),
                     "--hostname", HOST_NAME, "--broker-id", BROKER_ID, "--status", self.status_path]
        if cert:
            self.argv += ["--cert", cert, "--key", key]
        self.proc = None

    def start(self):
        if os.path.exists(self.status_path):
            os.unlink(self.status_path)
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _procs.append(self.proc)
        wait_for("the forwarder's first status", lambda: os.path.exists(self.status_path)
                 or self.proc.poll() is not None)
        if self.proc.poll() is not None:
            raise AssertionError("forward_cli exited %d: %s" % (self.proc.returncode, self.proc.stderr.read()))
        return self

    def status(self):
        with open(self.status_path) as f:
            return json.load(f)

    def stop(self):
        """SIGTERM; the final status it printed."""
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=15)
        eq(self.proc.returncode, 0, "forward_cli exit status (stderr: %s)" % err)
        return json.loads(out.strip().splitlines()[-1])


class AuditLog:
    """A fake STATE_DIR/audit/audit.log: JSON lines with seq from 1 and a prev chain."""

    def __init__(self, state):
        self.path = os.path.join(state, "audit.log")
        self.lines = []
        self.prev = "0" * 64

    def record(self, seq):
        rec = {"seq": seq, "time": "2025-06-01T10:%02d:%02d.%03dZ" % (seq // 60 % 60, seq % 60, seq % 1000),
               "prev": self.prev, "event": "call.decision", "agent": "support-bot",
               "args": {"note": "caf\u00e9 \"quoted\" ] and \\ back", "n": seq}, "sig": "c2ln"}
        line = json.dumps(rec, ensure_ascii=True, separators=(",", ":"))
        self.prev = hashlib.sha256(line.encode()).hexdigest()
        return line

    def append(self, first, last):
        with open(self.path, "a") as f:
            for seq in range(first, last + 1):
                line = self.record(seq)
                self.lines.append(line)
                f.write(line + "\n")

    def append_raw(self, text):
        with open(self.path, "a") as f:
            f.write(text)


def check_resends_only(seqs, last):
    """Every record 1..last arrived; the first arrivals in order; anything
    else is a re-send of a seq already seen (never one from the future)."""
    top = 0
    for i, s in enumerate(seqs):
        if s == top + 1:
            top = s
        elif s > top:
            raise AssertionError("message %d has seq %d after seq %d: a gap" % (i, s, top))
    eq(top, last, "highest seq in order")
    eq(sorted(set(seqs)), list(range(1, last + 1)), "the records that arrived")


# ---- The tests ----

ok = {}


@test
def rsyslog_with_its_openssl_driver_and_openssl_are_installed():
    missing = [what for what, have in (("rsyslogd", RSYSLOGD), ("rsyslog's OpenSSL stream driver "
               "(lmnsd_ossl.so)", OSSL_DRIVER), ("openssl", OPENSSL)) if not have]
    if missing:
        raise AssertionError("missing %s: run as root: apt-get install rsyslog rsyslog-openssl openssl"
                             % ", ".join(missing))
    ok["deps"] = True


if ok.get("deps"):
    P = pki()
    CLI = build_cli()
    STATE = os.path.join(WORK, "state")
    os.makedirs(STATE)
    LOG = AuditLog(STATE)
    MAIN = Collector("collector", P("server.pem"), P("server.key"), P("ca.pem"))
    MAIN.start()
    FWD = Forwarder(CLI, STATE, MAIN.port, P("ca.pem"), P("client.pem"), P("client.key"))

    @test
    def records_arrive_in_order_as_rfc5424_messages_over_mutual_tls():
        LOG.append(1, 50)
        FWD.start()
        wait_for("50 records at the collector", lambda: len(MAIN.seqs()) >= 50)
        msgs = MAIN.received()
        eq([m["seq"] for m in msgs], list(range(1, 51)), "seqs received")
        first = msgs[0]
        eq(first["raw"], '<86>1 2025-06-01T10:00:01.001Z %s toolgated %d call.decision '
           '[toolgate@32473 seq="1" broker="%s"] %s' % (HOST_NAME, FWD.proc.pid, BROKER_ID_SD, LOG.lines[0]),
           "the exact message")
        # What a real RFC 5424 parser made of it:
        eq((first["pri"], first["time"], first["hostname"], first["app"], first["procid"], first["msgid"]),
           ("86", "2025-06-01T10:00:01.001Z", HOST_NAME, "toolgated", str(FWD.proc.pid), "call.decision"),
           "PRI, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID")
        eq(first["sd"], '[toolgate@32473 seq="1" broker="%s"]' % BROKER_ID_SD, "STRUCTURED-DATA")
        eq([m["msg"] for m in msgs], LOG.lines, "every MSG is its audit line, byte for byte")
        st = wait_for("delivered_seq 50", lambda: FWD.status()["delivered_seq"] == 50 and FWD.status())
        eq((st["connected"], st["sent_seq"], st["behind"], st["last_error"]), (True, 50, 0, ""), "status")

    @test
    def a_torn_last_line_is_sent_only_once_it_is_complete():
        line = LOG.record(51)
        LOG.append_raw(line[:40])
        time.sleep(1.5)
        eq(len(MAIN.received()), 50, "messages while record 51 is torn")
        eq(FWD.status()["behind"], 0, "records behind while record 51 is torn")
        LOG.append_raw(line[40:] + "\n")
        LOG.lines.append(line)
        wait_for("record 51", lambda: len(MAIN.seqs()) >= 51)
        eq(MAIN.received()[-1]["msg"], line, "record 51 whole")
        eq(MAIN.seqs(), list(range(1, 52)), "seqs received")
        wait_for("delivered_seq 51", lambda: FWD.status()["delivered_seq"] == 51)

    @test
    def records_written_while_the_collector_is_down_arrive_after_it_returns():
        MAIN.stop()
        wait_for("the forwarder to see the collector gone", lambda: not FWD.status()["connected"])
        LOG.append(52, 80)
        st = wait_for("29 records behind", lambda: FWD.status()["behind"] >= 29 and FWD.status())
        eq((st["connected"], st["behind"]), (False, 29), "status while the collector is down")
        contains(st["last_error"], "collector 127.0.0.1:%d: " % MAIN.port, "last_error")
        MAIN.start()
        wait_for("record 80 at the collector", lambda: 80 in MAIN.seqs())
        check_resends_only(MAIN.seqs(), 80)
        st = wait_for("delivered_seq 80", lambda: FWD.status()["delivered_seq"] == 80 and FWD.status())
        eq((st["connected"], st["behind"]), (True, 0), "status after the collector returned")

    @test
    def a_restarted_forwarder_resumes_after_its_cursor_without_resending():
        LOG.append(81, 82)     # written just before the stop: the stop still sends them
        final = FWD.stop()
        eq((final["connected"], final["delivered_seq"], final["behind"]), (False, 82, 0), "final status")
        with open(os.path.join(STATE, "forward.cursor")) as f:
            eq(f.read(), '{"seq":82,"offset":%d}\n' % os.path.getsize(LOG.path), "the cursor file")
        wait_for("record 82", lambda: 82 in MAIN.seqs())
        before = len(MAIN.seqs())
        LOG.append(83, 90)
        FWD.start()
        wait_for("record 90", lambda: 90 in MAIN.seqs())
        time.sleep(0.3)
        eq(MAIN.seqs()[before:], list(range(83, 91)), "what the restarted forwarder sent")
        check_resends_only(MAIN.seqs(), 90)
        FWD.stop()

    @test
    def a_collector_whose_certificate_another_ca_signed_is_refused_and_gets_nothing():
        other = Collector("collector-other-ca", P("server-other.pem"), P("server-other.key"), P("ca.pem"))
        other.start()
        state = os.path.join(WORK, "state-other")
        os.makedirs(state)
        shutil.copy(LOG.path, os.path.join(state, "audit.log"))
        f = Forwarder(CLI, state, other.port, P("ca.pem"), P("client.pem"), P("client.key")).start()
        want = ("collector 127.0.0.1:%d: TLS handshake failed: the collector's certificate did not verify: "
                "unable to get local issuer certificate" % other.port)
        st = wait_for("the refusal in the status", lambda: f.status()["last_error"] and f.status())
        eq(st["last_error"], want, "last_error")
        time.sleep(0.5)
        final = f.stop()
        eq((final["connected"], final["sent_seq"], final["delivered_seq"], final["behind"]),
           (False, 0, 0, 90), "final status")
        eq(other.received(), [], "messages at the collector")
        eq(os.path.exists(os.path.join(state, "forward.cursor")), False, "a cursor file")
        other.stop()

    @test
    def a_collector_that_wants_a_client_certificate_refuses_us_without_one():
        state = os.path.join(WORK, "state-nocert")
        os.makedirs(state)
        shutil.copy(LOG.path, os.path.join(state, "audit.log"))
        before = len(MAIN.received())
        f = Forwarder(CLI, state, MAIN.port, P("ca.pem")).start()
        st = wait_for("the refusal in the status", lambda: f.status()["last_error"] and f.status())
        eq(st["last_error"], "collector 127.0.0.1:%d: refused after the TLS handshake: "
           "tlsv13 alert certificate required" % MAIN.port, "last_error")
        time.sleep(0.5)
        final = f.stop()
        eq((final["connected"], final["delivered_seq"]), (False, 0), "final status")
        eq(len(MAIN.received()), before, "messages at the collector")

    @test
    def a_collector_reached_by_a_name_its_certificate_does_not_carry_is_refused():
        state = os.path.join(WORK, "state-name")
        os.makedirs(state)
        shutil.copy(LOG.path, os.path.join(state, "audit.log"))
        before = len(MAIN.received())
        f = Forwarder(CLI, state, MAIN.port, P("ca.pem"), P("client.pem"), P("client.key"),
                      host="localhost").start()
        st = wait_for("the refusal in the status", lambda: f.status()["last_error"] and f.status())
        eq(st["last_error"], "collector localhost:%d: TLS handshake failed: the collector's certificate "
           "did not verify: hostname mismatch" % MAIN.port, "last_error")
        f.stop()
        eq(len(MAIN.received()), before, "messages at the collector")


if ok.get("deps"):
    from tglib import Broker, TEST_TOOLS, tool_file  # noqa: E402

    @test
    def the_broker_forwards_every_record_in_order_across_a_collector_restart():
        col = Collector("collector-broker", P("server.pem"), P("server.key"), P("ca.pem"))
        col.start()
        bk = Broker([tool_file("echo", [os.path.join(TEST_TOOLS, "echo-args")])],
                    {"principals": {"a": {"uids": [41801]}},
                     "rules": [{"id": "r", "effect": "permit", "agents": ["a"], "tools": ["echo"]}]},
                    args=["--forward", "127.0.0.1:%d" % col.port, "--forward-ca", P("ca.pem"),
                          "--forward-cert", P("client.pem"), "--forward-key", P("client.key")])
        try:
            bk.start()
            cl = bk.client(41801)
            nlines = lambda: len(open(bk.audit_log, "rb").read().split(b"\n")) - 1
            for i in range(5):
                cl.call("echo", {"i": i})
            n = nlines()
            wait_for("%d records at the collector" % n, lambda: len(set(col.seqs())) >= n)
            eq(col.seqs()[:n], list(range(1, n + 1)), "in order")
            col.stop()
            for i in range(5, 10):
                cl.call("echo", {"i": i})   # the log, not the collector, decides: calls go on
            col.start()
            m = nlines()
            wait_for("all %d records after the collector's restart" % m, lambda: set(col.seqs()) >= set(range(1, m + 1)))
            check_resends_only(col.seqs(), m)
            lines = open(bk.audit_log).read().split("\n")[:-1]
            got = {}
            for msg in col.received():
                got.setdefault(msg["seq"], msg["msg"])
            eq([got[i] for i in range(1, m + 1)], lines, "every record arrived byte for byte")
            st = cl.request("toolgate/status", {})["result"]["forward"]
            eq(st["connected"], True)
        finally:
            bk.close()
            col.stop()


    @test
    def the_broker_forwards_every_record_across_audit_segments_and_a_collector_restart():
        col = Collector("collector-segments", P("server.pem"), P("server.key"), P("ca.pem"))
        col.start()
        bk = Broker([tool_file("echo", [os.path.join(TEST_TOOLS, "echo-args")])],
                    {"principals": {"a": {"uids": [41802]}},
                     "rules": [{"id": "r", "effect": "permit", "agents": ["a"], "tools": ["echo"]}]},
                    args=["--audit-segment-size", "4K", "--forward", "127.0.0.1:%d" % col.port,
                          "--forward-ca", P("ca.pem"), "--forward-cert", P("client.pem"),
                          "--forward-key", P("client.key")])
        try:
            bk.start()
            cl = bk.client(41802)
            audit_dir = os.path.dirname(bk.audit_log)

            def all_lines():
                names = sorted(n for n in os.listdir(audit_dir) if n.startswith("audit-")) + ["audit.log"]
                out = []
                for n in names:
                    out += open(os.path.join(audit_dir, n)).read().split("\n")[:-1]
                return out
            for i in range(10):
                cl.call("echo", {"i": i})
            n = len(all_lines())
            wait_for("%d records at the collector" % n, lambda: len(set(col.seqs())) >= n)
            col.stop()
            for i in range(10, 25):
                cl.call("echo", {"i": i})
            segs = [x for x in os.listdir(audit_dir) if x.startswith("audit-")]
            assert len(segs) >= 3, "the log was closed into segments: %s" % sorted(os.listdir(audit_dir))
            col.start()
            lines = all_lines()
            m = len(lines)
            wait_for("all %d records after the collector's restart" % m,
                     lambda: set(col.seqs()) >= set(range(1, m + 1)))
            check_resends_only(col.seqs(), m)
            got = {}
            for msg in col.received():
                got.setdefault(msg["seq"], msg["msg"])
            eq([got[i] for i in range(1, m + 1)], lines, "every record of every segment, byte for byte")
        finally:
            bk.close()
            col.stop()

for p in _procs:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
if all(p.returncode == 0 or p.returncode == -signal.SIGTERM for p in _procs):
    shutil.rmtree(WORK, ignore_errors=True)
else:
    print("kept %s for a look" % WORK, flush=True)
summary()
