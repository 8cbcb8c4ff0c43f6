"""Black-box fixtures: start the real petrel binary on loopback ports with a
temporary data_dir, talk to it with real clients, and check on teardown
that it stopped cleanly (exit 0: no sanitizer report, no leak)."""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("PETREL_BIN", str(ROOT / "build" / "petrel"))
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=99",
}

OFF = ["submission_listen", "smtps_listen", "pop3_listen", "pop3s_listen",
       "imap_listen", "imaps_listen", "admin_listen"]


_handed_out = set()


def free_port(host="127.0.0.1"):
    """A port free now and not handed out before in this test run: the
    kernel may offer a just-closed probe port again, and two listeners of
    one instance must not get the same one."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port")


def wait_port(host, port, proc=None, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"petrel exited with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{host}:{port} did not open")


class DNS:
    """A real DNS server from Debian (dnsmasq) on a high loopback port.

    Every petrel under test resolves through one of these, never through
    the system resolver. `records` are dnsmasq config lines (mx-host=,
    host-record=, cname=, local=/zone/ for NXDOMAIN below a zone)."""

    BASE = [
        # Outside mail in single-instance tests: example.net has an MX
        # whose address has nothing listening, so it defers (and stays in
        # the queue with its reason); other names under it do not exist.
        "mx-host=example.net,mx.example.net,10",
        "host-record=mx.example.net,127.0.0.9",
        "local=/example.net/",
        "local=/ptest/",
        # Reverse DNS of 127.0.0.x: unknown addresses have no name
        # (NXDOMAIN), not a failed look-up; tests add host-record= or
        # ptr-record= lines for the names they need.
        "local=/127.in-addr.arpa/",
    ]

    def __init__(self, workdir: Path, records=()):
        self.conf = workdir / "dnsmasq.conf"
        self.conf.write_text("\n".join(self.BASE + list(records)) + "\n")
        # The free port may be taken between the probe and dnsmasq's
        # bind (another test run): then try another one.
        for attempt in range(3):
            self.port = free_udp_port()
            self.proc = subprocess.Popen(
                ["/usr/sbin/dnsmasq", "--no-daemon", f"--port={self.port}",
                 "--listen-address=127.0.0.1", "--bind-interfaces",
                 "--no-resolv", "--no-hosts", f"--conf-file={self.conf}",
                 "--log-facility=-"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                self.wait()
                return
            except RuntimeError:
                self.stop()
                if attempt == 2:
                    raise

    @property
    def server(self):
        return f"127.0.0.1:{self.port}"

    def wait(self, timeout=10.0):
        """Until dnsmasq answers a query (a hand-made one for example.net)."""
        query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 b"\x07example\x03net\x00\x00\x0f\x00\x01")
        deadline = time.time() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("dnsmasq exited")
                s.sendto(query, ("127.0.0.1", self.port))
                try:
                    if s.recv(512)[:2] == b"\x12\x34":
                        return
                except socket.timeout:
                    pass
        raise RuntimeError("dnsmasq did not answer")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def txt_record(name, text):
    """A dnsmasq txt-record line for name: text as quoted strings of at
    most 255 octets (RFC 1035 §3.3.14), as a DKIM key needs."""
    parts = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
    quoted = ",".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"'
                      for p in parts)
    return f"txt-record={name.rstrip('.')},{quoted}"


def published_records(petrel, domain):
    """dnsmasq lines for the TXT records `petrel dns-records DOMAIN`
    prints (SPF, DMARC and one per DKIM key), so a test DNS serves what
    the operator would publish."""
    out = petrel.cli("dns-records", domain).stdout
    lines = []
    for line in out.splitlines():
        if line.startswith(";") or "\tIN\tTXT\t" not in line:
            continue
        name, rest = line.split("\tIN\tTXT\t", 1)
        text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', rest))
        lines.append(txt_record(name, text.replace('\\"', '"')))
    return lines


def txt_lookup_for(server):
    """A dkimpy dnsfunc that asks the test DNS (dnspython), so an
    independent verifier sees the records petrel's DNS serves."""
    import dns.exception
    import dns.resolver
    host, port = server.split(":")

    def dnsfunc(name, timeout=5):
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = [host]
        r.port = int(port)
        r.lifetime = timeout
        try:
            ans = r.resolve(name.decode().rstrip("."), "TXT")
        except dns.exception.DNSException:
            return None
        return b"".join(ans[0].strings)
    return dnsfunc


@pytest.fixture
def dns_factory(tmp_path):
    """DNS servers with a test's own records (TXT for SPF/DKIM/DMARC,
    ptr-record= and host-record= for reverse DNS of 127.0.0.x: a
    host-record makes the PTR too, so its name is forward-confirmed)."""
    made = []

    def make(records):
        workdir = tmp_path / f"dns{len(made)}"
        workdir.mkdir()
        d = DNS(workdir, records)
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()


@pytest.fixture(scope="session")
def dns(tmp_path_factory):
    d = DNS(tmp_path_factory.mktemp("dns"))
    yield d
    d.stop()


class Petrel:
    """One petrel instance: its config, data_dir, process and log."""

    def __init__(self, base: Path, host="127.0.0.1", extra=None,
                 dns_server=None):
        self.base = base
        self.host = host
        self.data_dir = base / "data"
        self.port = free_port(host)
        self.pop3_port = free_port(host)
        self.submission_port = free_port(host)
        self.smtps_port = free_port(host)
        self.imap_port = free_port(host)
        self.imaps_port = free_port(host)
        self.conf = base / "petrel.conf"
        self.log_path = base / "petrel.log"
        self.proc = None
        settings = {
            "hostname": "mx.example.org",
            "data_dir": str(self.data_dir),
            "smtp_listen": f"{host}:{self.port}",
            "relay_networks": "127.0.0.1/32",
            "max_connections_per_ip": "500",
            # Never the system resolver; 127.0.0.1:9 answers nothing.
            "dns_servers": dns_server or "127.0.0.1:9",
            "outbound_port": "2525",
            # Hermetic: whether this machine has a petrel-drop group
            # (make install) must not change data_dir's mode under test.
            "sendmail_group": "",
        }
        for key in OFF:
            settings[key] = ""
        settings["pop3_listen"] = f"{host}:{self.pop3_port}"
        settings["submission_listen"] = f"{host}:{self.submission_port}"
        settings["smtps_listen"] = f"{host}:{self.smtps_port}"
        settings["imap_listen"] = f"{host}:{self.imap_port}"
        settings["imaps_listen"] = f"{host}:{self.imaps_port}"
        settings.update(extra or {})
        self.settings = settings
        self.write_conf()

    def write_conf(self):
        self.conf.write_text(
            "".join(f"{k} = {v}\n" for k, v in self.settings.items()))

    def cli(self, *args, input=None, check=True):
        r = subprocess.run([BIN, "-c", str(self.conf), *args], input=input,
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, **SANITIZER_ENV})
        if check and r.returncode != 0:
            raise AssertionError(f"petrel {' '.join(args)} failed: "
                                 f"{r.returncode} {r.stderr}")
        return r

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "-c", str(self.conf), "serve"],
                                     stdout=self.logf, stderr=self.logf,
                                     env={**os.environ, **SANITIZER_ENV})
        wait_port(self.host, self.port, self.proc)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stop; return the exit status (None if it had to be killed)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.proc = None
                return None
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def mailbox(self, user, domain="example.org"):
        """Messages in a Maildir (new/ and cur/), as bytes, oldest first."""
        box = self.data_dir / "mail" / domain / user
        files = []
        for sub in ("new", "cur"):
            d = box / sub
            if d.is_dir():
                files += [p for p in d.iterdir() if p.is_file()]
        files.sort(key=lambda p: p.name)
        return [p.read_bytes() for p in files]

    def wait_mailbox(self, user, count, domain="example.org", timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            msgs = self.mailbox(user, domain)
            if len(msgs) >= count:
                return msgs
            time.sleep(0.05)
        return self.mailbox(user, domain)


def strip_return_path(msg: bytes) -> bytes:
    """The message without the one Return-Path: line that final delivery
    puts first (RFC 5321 §4.4, issue 9), which must be there."""
    assert msg.startswith(b"Return-Path: <"), msg[:200]
    end = msg.index(b"\r\n") + 2
    assert b"\nReturn-Path:" not in msg[end:msg.find(b"\r\n\r\n") + 2]
    return msg[end:]


def body_of(msg: bytes) -> bytes:
    """The message without petrel's own Received: field on top (and the
    Return-Path: above it, when this is the final delivery's copy, and
    the Authentication-Results field below that, for mail checked on
    port 25 from an untrusted address)."""
    if msg.startswith(b"Return-Path: "):
        msg = strip_return_path(msg)
    if msg.startswith(b"Authentication-Results: "):
        end = 0
        while True:
            end = msg.index(b"\r\n", end) + 2
            if msg[end:end + 1] not in (b" ", b"\t"):
                break
        msg = msg[end:]
    assert msg.startswith(b"Received: from ")
    end = 0
    while True:  # the field ends at a CRLF not followed by a fold
        end = msg.index(b"\r\n", end) + 2
        if msg[end:end + 1] not in (b" ", b"\t"):
            return msg[end:]


@pytest.fixture
def petrel_factory(tmp_path, dns):
    made = []

    def make(name="p", host="127.0.0.1", extra=None, users=("alice", "bob"),
             start=True, parent=None, dns_server=None):
        # parent: where the instance's folder goes (default tmp_path, which
        # only root can enter; the privilege-drop tests need one that
        # their unprivileged user can traverse).
        base = Path(parent or tmp_path) / name
        base.mkdir()
        p = Petrel(base, host=host, extra=extra,
                   dns_server=dns_server or dns.server)
        p.cli("domain", "add", "example.org")
        for u in users:
            p.cli("user", "add", f"{u}@example.org", input="secret\n")
        if start:
            p.start()
        made.append(p)
        return p

    yield make
    failures = []
    for p in made:
        if p.proc is not None:
            rc = p.stop()
            if rc != 0:
                failures.append(f"{p.base}: exit {rc}\n{p.log()[-4000:]}")
    if failures:
        pytest.fail("petrel did not stop cleanly:\n" + "\n".join(failures))


@pytest.fixture
def petrel(petrel_factory):
    return petrel_factory()


class Raw:
    """A raw SMTP connection for byte-exact dialogues."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=10):
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        """One whole (possibly multi-line) reply: (code, [lines])."""
        lines = []
        while True:
            ln = self.line()
            lines.append(ln)
            if len(ln) < 4 or ln[3:4] != b"-":
                return int(ln[:3]), lines

    def cmd(self, data: bytes):
        self.send(data + b"\r\n")
        return self.reply()

    def closed(self, timeout=5.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


@pytest.fixture
def raw(petrel):
    conns = []

    def connect(source=None):
        c = Raw(petrel.port, source=source)
        conns.append(c)
        return c

    yield connect
    for c in conns:
        c.close()


# --- small helpers shared by the SMTP battery (tests/blackbox/test_smtp_*) ---

def ehlo(c, name=b"client.example.net"):
    """EHLO on a Raw connection (after reading the greeting)."""
    code, lines = c.cmd(b"EHLO " + name)
    assert code == 250, lines
    return lines


def greet(c):
    """Read the 220 greeting and say EHLO; returns the connection."""
    code, lines = c.reply()
    assert code == 220, lines
    ehlo(c)
    return c


def queue_id(line: bytes) -> str:
    """The id out of a '250 2.0.0 Ok: queued as ID' reply line."""
    marker = b"queued as "
    assert marker in line, line
    return line.split(marker, 1)[1].split()[0].decode()


def raw_send(c, sender: bytes, rcpts, data: bytes):
    """One whole transaction on a greeted Raw connection, one step at a
    time. data is the wire form (already dot-stuffed), without the final
    '.\\r\\n'. Returns the final (code, lines)."""
    code, lines = c.cmd(b"MAIL FROM:<" + sender + b">")
    assert code == 250, lines
    for r in rcpts:
        code, lines = c.cmd(b"RCPT TO:<" + r + b">")
        assert code == 250, (r, lines)
    code, lines = c.cmd(b"DATA")
    assert code == 354, lines
    c.send(data + b".\r\n")
    return c.reply()
