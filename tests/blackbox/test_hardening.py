"""Hardening (issue #5): the relay battery from an untrusted address, line
and recipient limits, connection limits, the command and DATA deadlines
against slow clients, privilege drop and file modes. Every abuse test ends
with a normal message that must still be accepted."""
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN, SANITIZER_ENV, Raw
from tlsutil import (auth_plain, client_ctx, greeted, local_send_ok,
                     plain_b64, submit)

UNTRUSTED = "127.0.0.2"


def queue_text(p):
    return p.cli("queue", "list").stdout


# --- relay battery ---

RELAY_TRICKS = [
    b"user@example.net",
    b"user%example.net@example.org",
    b"example.net!user@example.org",
    b"@example.org:user@example.net",
    b"@example.org,@mx.example.org:user@example.net",
    b"\"user@example.net\"@example.org",
    b"\"user%example.net\"@example.org",
    b"user@[127.0.0.1]",
    b"user@[127.0.0.2]",
    b"user@[IPv6:::1]",
    b"user@example.net.",
    b"user@EXAMPLE.NET",
    b"USER@Example.Net",
    b"postmaster@example.net",
    b"alice@example.org.example.net",
    b"alice@example.org@example.net",
    b"user@example.net@example.org",
]


def test_relay_battery_untrusted(petrel):
    c = greeted(petrel.port, source=UNTRUSTED)
    for rcpt in RELAY_TRICKS:
        assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250, rcpt
        code, lines = c.cmd(b"RCPT TO:<" + rcpt + b">")
        assert code != 250 and code >= 500, (rcpt, lines)
        # Without a recipient there is no DATA either.
        assert c.cmd(b"DATA")[0] in (503, 554), rcpt
        assert c.cmd(b"RSET")[0] == 250
        # max_errors would close the session: start a fresh one now and
        # then (each trick costs up to two error replies).
        if RELAY_TRICKS.index(rcpt) % 4 == 3:
            c.close()
            c = greeted(petrel.port, source=UNTRUSTED)
    c.close()
    out = queue_text(petrel)
    assert "Mail queue is empty" in out, out
    assert "reject: RCPT from [127.0.0.2]" in petrel.log()
    local_send_ok(petrel, source=UNTRUSTED)


def test_relay_battery_on_587_without_auth(petrel):
    # Port 587 from the same untrusted address: no MAIL without AUTH.
    c = greeted(petrel.submission_port, source=UNTRUSTED, tls=True)
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 530
    for rcpt in RELAY_TRICKS[:4]:
        assert c.cmd(b"RCPT TO:<" + rcpt + b">")[0] == 503
    c.close()
    assert "Mail queue is empty" in queue_text(petrel)


def test_relay_from_trusted_accepted(petrel):
    c = greeted(petrel.port)  # 127.0.0.1 is relay_networks
    code, lines = submit(c, "alice@example.org", ["remote@example.net"])
    assert code == 250, lines
    c.close()
    out = queue_text(petrel)
    assert "remote@example.net" in out, out


# --- line and recipient limits ---

def test_long_line_500_but_long_auth_line_allowed(petrel):
    c = greeted(petrel.port, source=UNTRUSTED, tls=True)
    code, lines = c.cmd(b"NOOP " + b"x" * 2995)  # 3000 bytes
    assert code == 500 and lines[0].startswith(b"500 5.5.2"), lines
    code, lines = c.cmd(b"MAIL FROM:<" + b"a" * 2990 + b"@example.net>")
    assert code == 500, lines
    # An AUTH line of 5000 bytes is not "too long" (RFC 4954 §4 allows
    # 12288): it is judged as a SASL response (malformed: 501, or 535).
    resp = plain_b64(ALICE := "alice@example.org", "p" * 3700)
    line = b"AUTH PLAIN " + resp.encode()
    line += b"A" * (5000 - len(line)) if len(line) < 5000 else b""
    assert len(line) >= 5000
    code, lines = c.cmd(line)
    assert code in (501, 535), lines
    # A 5000-byte SASL continuation line too.
    assert c.cmd(b"AUTH PLAIN")[0] == 334
    code, lines = c.cmd(b"A" * 5000)
    assert code in (501, 535), lines
    # But not a line beyond the AUTH limit.
    code, lines = c.cmd(b"AUTH PLAIN " + b"A" * 13000)
    assert code == 500, lines
    assert auth_plain(c, user=ALICE)[0] == 235
    c.close()
    local_send_ok(petrel, source=UNTRUSTED)


def test_too_many_recipients_452(petrel_factory):
    p = petrel_factory(extra={"max_recipients": "5"})
    c = greeted(p.port, source=UNTRUSTED)
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
    for i in range(5):
        assert c.cmd(b"RCPT TO:<alice+%d@example.org>" % i)[0] == 250
    code, lines = c.cmd(b"RCPT TO:<bob@example.org>")
    assert code == 452 and lines[0].startswith(b"452 4.5.3"), lines
    # The transaction goes on with the five accepted.
    assert c.cmd(b"DATA")[0] == 354
    c.send(b"Subject: five\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    c.close()
    assert len(p.wait_mailbox("alice", 1)) == 1
    assert p.mailbox("bob") == []
    local_send_ok(p, source=UNTRUSTED, user="bob")


def test_1001_recipients_default_limit(petrel):
    c = greeted(petrel.port, source=UNTRUSTED)
    rcpts = b"".join(b"RCPT TO:<alice+%d@example.org>\r\n" % i
                     for i in range(1001))
    c.send(b"MAIL FROM:<a@example.net>\r\n" + rcpts)
    assert c.reply()[0] == 250
    codes = [c.reply()[0] for _ in range(1001)]
    assert codes[:1000] == [250] * 1000
    assert codes[1000] == 452
    assert c.cmd(b"RSET")[0] == 250
    c.close()
    local_send_ok(petrel, source=UNTRUSTED)


# --- connection limits ---

def test_connections_per_ip_421(petrel_factory):
    p = petrel_factory(extra={"max_connections_per_ip": "3"})
    held = []
    for _ in range(3):
        c = Raw(p.port, source=UNTRUSTED)
        assert c.reply()[0] == 220
        held.append(c)
    extra = Raw(p.port, source=UNTRUSTED)
    code, lines = extra.reply()
    assert code == 421 and lines[0].startswith(b"421 4.7.0"), lines
    assert extra.closed()
    extra.close()
    # The same limit on the submission ports (one count per address).
    extra = Raw(p.submission_port, source=UNTRUSTED)
    assert extra.reply()[0] == 421
    extra.close()
    # Trusted 127.0.0.1 is exempt.
    local_send_ok(p)
    assert "too many connections from this address" in p.log()
    for c in held:
        c.close()
    # Slots come back once the clients leave (bounded wait).
    deadline = time.time() + 10
    while True:
        c = Raw(p.port, source=UNTRUSTED)
        code, _ = c.reply()
        c.close()
        if code == 220 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert code == 220
    local_send_ok(p, source=UNTRUSTED)


# --- deadlines ---

def test_slowloris_disconnected(petrel_factory):
    p = petrel_factory(extra={"smtp_timeout": "2s"})
    c = greeted(p.port, source=UNTRUSTED)
    t0 = time.monotonic()
    closed_at = None
    got = b""
    c.sock.settimeout(0.5)
    # One byte every 0.5 s, never a whole line; at most 12 s.
    for ch in (b"NOOP " + b"x" * 40)[:24]:
        try:
            c.sock.sendall(bytes([ch]))
        except (BrokenPipeError, ConnectionResetError):
            closed_at = time.monotonic()
            break
        try:
            data = c.sock.recv(4096)
            got += data
            if not data:
                closed_at = time.monotonic()
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed_at = time.monotonic()
            break
    c.close()
    assert closed_at is not None, "slow client was never disconnected"
    assert closed_at - t0 < 4.5, closed_at - t0
    assert got.startswith(b"421 4.4.2"), got
    assert "timeout after command" in p.log()
    local_send_ok(p, source=UNTRUSTED)


def test_whole_commands_restart_the_deadline(petrel_factory):
    p = petrel_factory(extra={"smtp_timeout": "2s"})
    c = greeted(p.port, source=UNTRUSTED)
    # Whole commands every 0.7 s keep the session alive past 2 s (the
    # counterpart of the slowloris test: lines restart it, bytes not).
    for _ in range(4):
        time.sleep(0.7)
        assert c.cmd(b"NOOP")[0] == 250
    c.close()
    local_send_ok(p, source=UNTRUSTED)


def test_idle_in_data_disconnected(petrel_factory):
    p = petrel_factory(extra={"smtp_data_timeout": "2s"})
    c = greeted(p.port, source=UNTRUSTED)
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    t0 = time.monotonic()
    c.send(b"Subject: idle\r\n\r\nstarted but never fin")
    assert c.closed(timeout=8.0)
    elapsed = time.monotonic() - t0
    assert 1.5 <= elapsed < 5.0, elapsed
    assert c.buf.startswith(b"421 4.4.2"), c.buf
    c.close()
    assert p.mailbox("alice") == []
    assert "timeout after DATA" in p.log()
    local_send_ok(p, source=UNTRUSTED)


def test_trickle_in_data_disconnected(petrel_factory):
    # Small bytes now and then in DATA do not move the deadline: only
    # every 64 KiB does.
    p = petrel_factory(extra={"smtp_data_timeout": "2s"})
    c = greeted(p.port, source=UNTRUSTED)
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    t0 = time.monotonic()
    closed = False
    for _ in range(16):  # at most 8 s
        try:
            c.send(b"line\r\n")
        except OSError:
            closed = True
            break
        if c.closed(timeout=0.5):
            closed = True
            break
    elapsed = time.monotonic() - t0
    c.close()
    assert closed and elapsed < 4.5, elapsed
    assert p.mailbox("alice") == []
    local_send_ok(p, source=UNTRUSTED)


def test_steady_data_progress_survives(petrel_factory):
    # 72 KB every 1.0 s: 3 s in all, longer than smtp_data_timeout, but
    # each 64 KiB moves the deadline on.
    p = petrel_factory(extra={"smtp_data_timeout": "2s"})
    c = greeted(p.port, source=UNTRUSTED)
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    c.send(b"Subject: big\r\n\r\n")
    chunk = (b"y" * 70 + b"\r\n") * 1000  # 72 KB
    for _ in range(3):
        c.send(chunk)
        time.sleep(1.0)
    c.send(b".\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    c.close()
    assert len(p.wait_mailbox("alice", 1)) == 1


def test_abuse_then_tls_still_fine(petrel):
    # A client that vanishes mid-handshake, one that sends garbage as a
    # ClientHello on 465, one that closes right after STARTTLS.
    c = greeted(petrel.port)
    c.send(b"STARTTLS\r\n")
    assert c.reply()[0] == 220
    c.send(b"\x16\x03\x01\x00\x05hello")
    c.close()
    c = Raw(petrel.smtps_port)
    c.send(b"GET / HTTP/1.0\r\n\r\n" + os.urandom(300))
    c.closed(timeout=3)
    c.close()
    c = greeted(petrel.submission_port)
    c.send(b"STARTTLS\r\n")
    c.close()
    c = greeted(petrel.submission_port, tls=True)
    assert auth_plain(c)[0] == 235
    code, lines = submit(c, "alice@example.org", ["bob@example.org"])
    assert code == 250, lines
    c.close()
    local_send_ok(petrel)


# --- privilege drop and file modes ---

@pytest.fixture
def open_parent():
    """A folder under /tmp that an unprivileged user may traverse."""
    d = tempfile.mkdtemp(prefix="petrel-privdrop-", dir="/tmp")
    os.chmod(d, 0o755)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def owner(path):
    import pwd
    return pwd.getpwuid(os.lstat(path).st_uid).pw_name


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop from")
def test_privilege_drop(open_parent, petrel_factory):
    p = petrel_factory(parent=open_parent,
                       extra={"user": "nobody", "group": "nogroup",
                              "smtp_timeout": "2s"})
    r = subprocess.run(["ps", "-o", "user=,group=", "-p", str(p.proc.pid)],
                       capture_output=True, text=True, timeout=10)
    assert r.stdout.split() == ["nobody", "nogroup"], r.stdout
    assert "running as user nobody" in p.log()
    # The whole data_dir tree is theirs (including the TLS key it made).
    bad = []
    for root, dirs, files in os.walk(p.data_dir):
        for n in [root] + [os.path.join(root, f) for f in files]:
            if owner(n) != "nobody":
                bad.append(n)
    assert bad == [], bad
    assert owner(p.data_dir / "tls-key.pem") == "nobody"
    # Mail is delivered, over every way in, as nobody.
    local_send_ok(p)
    c = greeted(p.submission_port, tls=True)
    assert auth_plain(c)[0] == 235
    code, lines = submit(c, "alice@example.org", ["bob@example.org"])
    assert code == 250, lines
    c.close()
    for f in (p.data_dir / "mail" / "example.org" / "bob" / "new").iterdir():
        assert owner(f) == "nobody"
    # Abuse cases, each followed by a normal send.
    c = greeted(p.port, source=UNTRUSTED)
    c.send(b"STARTTLS\r\nRSET\r\n")
    assert c.reply()[0] == 220
    c.sock = client_ctx().wrap_socket(c.sock)
    assert c.cmd(b"NOOP") == (250, [b"250 2.0.0 Ok"])
    c.close()
    local_send_ok(p)
    c = greeted(p.port, source=UNTRUSTED)
    assert c.cmd(b"NOOP " + b"x" * 3000)[0] == 500
    assert c.cmd(b"RCPT TO:<u%example.net@example.org>")[0] == 503
    c.close()
    local_send_ok(p)
    c = greeted(p.smtps_port, implicit=True, source=UNTRUSTED)
    assert auth_plain(c, password="wrong")[0] == 535
    c.close()
    local_send_ok(p)
    c = greeted(p.port, source=UNTRUSTED)
    assert c.closed(timeout=5.0)  # the 2 s deadline
    c.close()
    local_send_ok(p)
    assert "Mail queue is empty" in queue_text(p)


def test_world_writable_data_dir_refused(petrel_factory):
    p = petrel_factory(start=False)
    os.chmod(p.data_dir, 0o777)
    r = subprocess.run([BIN, "-c", str(p.conf), "serve"], capture_output=True,
                       text=True, timeout=30,
                       env={**os.environ, **SANITIZER_ENV})
    assert r.returncode == 1, r
    assert "world-writable" in r.stderr, r.stderr
    assert str(p.data_dir) in r.stderr, r.stderr
    # Nothing listens.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", p.port), timeout=1).close()
    # Fixed, it starts.
    os.chmod(p.data_dir, 0o700)
    p.start()
    local_send_ok(p)


def test_file_modes(petrel):
    d = petrel.data_dir
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((d / "directory.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((d / "tls-key.pem").stat().st_mode) == 0o600
    local_send_ok(petrel)
    for sub in ("mail", "queue"):
        if (d / sub).exists():
            assert not (d / sub).stat().st_mode & 0o077, sub
