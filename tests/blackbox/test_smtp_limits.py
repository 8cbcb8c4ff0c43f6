"""Limits: SIZE (RFC 1870), command line length, error count, recipients
per transaction, idle timeout, connections per address, mail loops."""
import re
import socket
import time

import pytest

from conftest import Raw, body_of, ehlo, greet, raw_send


@pytest.fixture
def small(petrel_factory):
    """An instance with a 10 KiB message size limit."""
    return petrel_factory(extra={"max_message_size": "10k"})


def connect(p, source=None):
    c = Raw(p.port, source=source)
    return c


def test_size_advertised(small):
    c = connect(small)
    try:
        c.reply()
        lines = ehlo(c)
        assert b"250-SIZE 10240" in lines
    finally:
        c.close()


def test_size_parameter(small):
    c = greet(connect(small))
    try:
        code, lines = c.cmd(b"MAIL FROM:<a@example.net> SIZE=20000")
        assert code == 552
        assert lines[0].startswith(b"552 5.3.4")
        # Refused MAIL starts no transaction.
        assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 503
        code, lines = c.cmd(b"MAIL FROM:<a@example.net> SIZE=100")
        assert code == 250
        assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd(b"DATA")[0] == 354
        c.send(b"Subject: small\r\n\r\nx\r\n.\r\n")
        assert c.reply()[0] == 250
        assert len(small.wait_mailbox("alice", 1)) == 1
    finally:
        c.close()


@pytest.mark.parametrize("size,want", [(10240, 250), (10241, 552), (0, 250)])
def test_size_parameter_boundary(small, size, want):
    c = greet(connect(small))
    try:
        code, lines = c.cmd(b"MAIL FROM:<a@example.net> SIZE=%d" % size)
        assert code == want, lines
    finally:
        c.close()


@pytest.mark.parametrize("size", [12 * 1024, 2 * 1024 * 1024])
def test_message_over_limit_refused_after_dot(small, size):
    c = greet(connect(small))
    try:
        assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
        assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd(b"DATA")[0] == 354
        line = b"y" * 998 + b"\r\n"
        big = b"Subject: big\r\n\r\n" + line * (size // len(line) + 1)
        c.sock.settimeout(30)
        c.send(big)
        c.send(b".\r\n")
        code, lines = c.reply()
        assert code == 552, lines
        assert lines[0].startswith(b"552 5.3.4")
        # The session carries on: the next message goes through.
        code, lines = raw_send(c, b"a@example.net", [b"alice@example.org"],
                               b"Subject: next\r\n\r\nsmall one\r\n")
        assert code == 250, lines
        msgs = small.wait_mailbox("alice", 1)
        time.sleep(0.2)
        msgs = small.mailbox("alice")
        assert len(msgs) == 1
        assert body_of(msgs[0]) == b"Subject: next\r\n\r\nsmall one\r\n"
        assert "Mail queue is empty" in small.cli("queue", "list").stdout
        assert list((small.data_dir / "queue").rglob("*big*")) == []
    finally:
        c.close()


def test_message_just_under_limit_accepted(small):
    c = greet(connect(small))
    try:
        # The Received: line counts too; leave it room.
        data = b"Subject: fits\r\n\r\n" + b"z" * 8000 + b"\r\n"
        code, lines = raw_send(c, b"a@example.net", [b"alice@example.org"],
                               data)
        assert code == 250, lines
        assert body_of(small.wait_mailbox("alice", 1)[0]) == data
    finally:
        c.close()


@pytest.mark.parametrize("length", [5000, 100 * 1024])
def test_command_line_too_long(raw, length):
    c = greet(raw())
    code, lines = c.cmd(b"NOOP " + b"x" * length)
    assert code == 500
    assert lines[0].startswith(b"500 5.5.2")
    assert c.cmd(b"NOOP")[0] == 250
    # A too-long MAIL does not start a transaction; a good one then does.
    code, _ = c.cmd(b"MAIL FROM:<" + b"a" * length + b"@example.net>")
    assert code == 500
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 503
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250


def test_command_line_too_long_in_pieces(raw):
    c = greet(raw())
    for _ in range(10):
        c.send(b"x" * 1000)
        time.sleep(0.01)
    c.send(b"\r\nNOOP\r\n")
    code, lines = c.reply()
    assert code == 500 and lines[0].startswith(b"500 5.5.2")
    assert c.reply()[0] == 250


def test_max_errors(petrel_factory):
    p = petrel_factory(extra={"max_errors": "3"})
    c = greet(connect(p))
    try:
        c.send(b"BOGUS\r\n" * 10)
        codes = []
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                codes.append(c.reply()[0])
            except (EOFError, ConnectionResetError):
                break
        assert codes[-1] == 421, codes
        assert 3 <= codes.count(500) <= 4, codes
        assert c.closed()
    finally:
        c.close()
    # Others are not affected.
    c = greet(connect(p))
    try:
        assert c.cmd(b"NOOP")[0] == 250
    finally:
        c.close()


def test_max_recipients(petrel_factory):
    p = petrel_factory(extra={"max_recipients": "2"})
    c = greet(connect(p))
    try:
        assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
        assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd(b"RCPT TO:<bob@example.org>")[0] == 250
        code, lines = c.cmd(b"RCPT TO:<postmaster@example.org>")
        assert code == 452
        assert lines[0].startswith(b"452 4.5.3")
        assert c.cmd(b"DATA")[0] == 354
        c.send(b"Subject: two\r\n\r\nx\r\n.\r\n")
        assert c.reply()[0] == 250
        # The limit is per transaction.
        assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
        assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd(b"RCPT TO:<bob@example.org>")[0] == 250
    finally:
        c.close()
    assert len(p.wait_mailbox("alice", 1)) == 1
    assert len(p.wait_mailbox("bob", 1)) == 1
    time.sleep(0.2)
    assert p.mailbox("postmaster") == []


def test_idle_timeout(petrel_factory):
    p = petrel_factory(extra={"smtp_timeout": "2s"})
    c = greet(connect(p))
    try:
        t0 = time.time()
        c.sock.settimeout(10)
        code, lines = c.reply()
        assert code == 421
        assert lines[0].startswith(b"421 4.4.2")
        assert 1.5 <= time.time() - t0 < 8
        assert c.closed()
    finally:
        c.close()


def test_idle_timeout_before_ehlo(petrel_factory):
    p = petrel_factory(extra={"smtp_timeout": "2s"})
    c = connect(p)
    try:
        assert c.reply()[0] == 220
        code, lines = c.reply()
        assert code == 421 and lines[0].startswith(b"421 4.4.2")
        assert c.closed()
    finally:
        c.close()


def test_activity_keeps_session_alive(petrel_factory):
    p = petrel_factory(extra={"smtp_timeout": "2s"})
    c = greet(connect(p))
    try:
        for _ in range(4):
            time.sleep(1)
            assert c.cmd(b"NOOP")[0] == 250
    finally:
        c.close()


def test_connections_per_ip(petrel_factory):
    p = petrel_factory(extra={"max_connections_per_ip": "3"})
    held = []
    try:
        for _ in range(3):
            c = Raw(p.port, source="127.0.0.2")
            held.append(c)
            assert c.reply()[0] == 220
        c = Raw(p.port, source="127.0.0.2")
        held.append(c)
        code, lines = c.reply()
        assert code == 421, lines
        assert c.closed()
        # Trusted 127.0.0.1 is exempt.
        for _ in range(6):
            c = Raw(p.port)
            held.append(c)
            assert c.reply()[0] == 220
        # Closing one frees its slot.
        held[0].cmd(b"QUIT")
        held[0].close()
        ok = False
        deadline = time.time() + 5
        while time.time() < deadline and not ok:
            c = Raw(p.port, source="127.0.0.2")
            held.append(c)
            ok = c.reply()[0] == 220
            if not ok:
                time.sleep(0.1)
        assert ok
    finally:
        for c in held:
            try:
                c.close()
            except OSError:
                pass


def test_mail_loop_too_many_received(petrel, raw):
    c = greet(raw())
    hop = [b"Received: from h%d.example.net by h%d.example.net; "
           b"Mon, 1 Jan 2024 00:00:00 +0000\r\n" % (i, i + 1)
           for i in range(60)]
    hops = b"".join(hop)
    code, lines = raw_send(c, b"a@example.net", [b"alice@example.org"],
                           hops + b"Subject: loop\r\n\r\nloop\r\n")
    assert code == 554, lines
    assert lines[0].startswith(b"554 5.4.6")
    # A message with a few hops is fine, in the same session.
    code, lines = raw_send(c, b"a@example.net", [b"alice@example.org"],
                           b"".join(hop[:10]) + b"Subject: ok\r\n\r\nok\r\n")
    assert code == 250, lines
    time.sleep(0.2)
    msgs = petrel.wait_mailbox("alice", 1)
    assert len(msgs) == 1
    assert b"Subject: ok" in msgs[0]


def test_received_in_body_does_not_count(petrel, raw):
    c = greet(raw())
    body = b"".join(b"Received: from x by y; today\r\n" for _ in range(60))
    data = b"Subject: quoted\r\n\r\n" + body
    code, lines = raw_send(c, b"a@example.net", [b"alice@example.org"], data)
    assert code == 250, lines
    assert body_of(petrel.wait_mailbox("alice", 1)[0]) == data


def test_client_not_reading_replies(raw):
    """A client that pipelines without reading is throttled, not fatal."""
    c = greet(raw())
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    n = 8000  # 128 KB of replies: twice the output high-water mark
    c.sock.settimeout(30)
    c.send(b"NOOP\r\n" * n + b"QUIT\r\n")
    got = 0
    while True:
        code, _ = c.reply()
        if code == 221:
            break
        assert code == 250
        got += 1
    assert got == n


def test_data_timeout(petrel_factory):
    p = petrel_factory(extra={"smtp_data_timeout": "2s"})
    c = greet(connect(p))
    try:
        assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
        assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd(b"DATA")[0] == 354
        c.send(b"Subject: stalled\r\n\r\nhalf a mess")
        c.sock.settimeout(10)
        code, lines = c.reply()
        assert code == 421 and lines[0].startswith(b"421 4.4.2")
        assert c.closed()
    finally:
        c.close()
    time.sleep(0.2)
    assert p.mailbox("alice") == []
    assert "Mail queue is empty" in p.cli("queue", "list").stdout
    # The log line about the lost message carries its queue id.
    log = p.log()
    m = re.search(r"(\S+): client=\[127\.0\.0\.1\].*from=<a@example\.net>",
                  log)
    assert m, log
    assert re.search(re.escape(m.group(1)) + r": .*timeout after DATA",
                     log), log


def test_stuck_reader_is_dropped_after_timeout(petrel_factory):
    """A client that floods commands and never reads the replies fills
    the output; after smtp_timeout the server must drop it and free its
    per-address slot, not keep it forever."""
    p = petrel_factory(extra={"smtp_timeout": "2s",
                              "max_connections_per_ip": "1"})
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", p.port))
    s.settimeout(3)
    try:
        # ~16 MB of replies that are never read: more than any socket
        # buffer holds, so the server's output stays full. Our own send
        # stalls too once the server stops reading.
        try:
            s.sendall(b"EHLO x\r\n" + b"NOOP\r\n" * 1000000)
        except (socket.timeout, ConnectionResetError, BrokenPipeError):
            pass  # stalled, or already dropped by the server
        deadline = time.time() + 12
        ok = False
        while time.time() < deadline and not ok:
            c = Raw(p.port, source="127.0.0.2")
            try:
                ok = c.reply()[0] == 220
            except (EOFError, ConnectionResetError):
                pass
            finally:
                c.close()
            if not ok:
                time.sleep(0.5)
        assert ok, "the stuck session still holds its slot"
    finally:
        s.close()


def test_commands_after_quit_ignored(raw):
    c = greet(raw())
    c.send(b"QUIT\r\nNOOP\r\nNOOP\r\n")
    code, _ = c.reply()
    assert code == 221
    assert c.closed()
    assert c.buf == b""


def test_ehlo_resets_transaction(raw):
    c = greet(raw())
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    ehlo(c)
    assert c.cmd(b"DATA")[0] == 503
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250


def test_nul_in_command_refused(raw):
    c = greet(raw())
    code, lines = c.cmd(b"NOOP\x00hidden")
    assert code == 500, lines
    code, lines = c.cmd(b"MAIL FROM:<a@example.net>\x00<b@example.net>")
    assert code == 500, lines
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 503


def test_shutdown_says_421(petrel):
    c = greet(Raw(petrel.port))
    try:
        assert petrel.stop() == 0
        code, lines = c.reply()
        assert code == 421
        assert lines[0].startswith(b"421 4.3.2")
        assert c.closed()
    finally:
        c.close()


def test_shutdown_mid_data_keeps_nothing_half_done(petrel):
    c = greet(Raw(petrel.port))
    try:
        assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
        assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd(b"DATA")[0] == 354
        c.send(b"Subject: x\r\n\r\nhalf")
        time.sleep(0.2)
        c.sock.settimeout(20)
        petrel.proc.send_signal(15)
        # The server may wait for the message (a grace period) or close;
        # if it waits, finishing the message must get a definite answer.
        try:
            c.send(b" and the rest\r\n.\r\n")
            code, lines = c.reply()
            assert code in (250, 421, 451), lines
        except (EOFError, ConnectionResetError, BrokenPipeError):
            code = None
    finally:
        c.close()
    assert petrel.stop() == 0
    msgs = petrel.mailbox("alice")
    if code == 250:
        assert [body_of(m) for m in msgs] == [
            b"Subject: x\r\n\r\nhalf and the rest\r\n"]
    else:
        assert msgs == []


def test_port_in_use_is_a_clean_error(petrel_factory):
    """A listen address already taken: one clear line, exit 1, and nothing
    leaked on the way out (the binary runs under LeakSanitizer)."""
    import socket
    import subprocess
    from conftest import BIN, SANITIZER_ENV
    p = petrel_factory(start=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", p.port))
        taken.listen(1)
        r = subprocess.run([BIN, "-c", str(p.conf), "serve"],
                           capture_output=True, text=True, timeout=30,
                           env={**__import__("os").environ, **SANITIZER_ENV})
    assert r.returncode == 1, r.stderr[-2000:]
    assert f"cannot listen on 127.0.0.1:{p.port}" in r.stderr
    assert "Sanitizer" not in r.stderr
