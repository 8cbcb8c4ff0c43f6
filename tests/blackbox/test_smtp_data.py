"""DATA: transparency (RFC 5321 §4.5.2), byte-exact storage, and the
end-of-data rule that stops SMTP smuggling (only <CRLF>.<CRLF> ends a
message, never a bare CR or LF)."""
import smtplib
import subprocess
import time

import pytest

from conftest import body_of, greet, raw_send


def dot_stuff(data: bytes) -> bytes:
    """What a client puts on the wire for data (lines ending CRLF)."""
    lines = data.split(b"\r\n")
    return b"\r\n".join(b"." + ln if ln.startswith(b".") else ln
                        for ln in lines)


def roundtrip(petrel, raw, data: bytes, user="alice"):
    """Send data (raw message, CRLF lines) and return what was stored."""
    c = greet(raw())
    code, lines = raw_send(c, b"sender@example.net",
                           [user.encode() + b"@example.org"],
                           dot_stuff(data))
    assert code == 250, lines
    assert c.cmd(b"QUIT")[0] == 221
    msgs = petrel.wait_mailbox(user, 1)
    assert len(msgs) == 1
    return body_of(msgs[0])


def test_dot_stuffing_wire_form(petrel, raw):
    """Hand-stuffed wire bytes decode to the original lines."""
    c = greet(raw())
    wire = (b"Subject: dots\r\n\r\n"
            b"..starts with one dot\r\n"
            b"...starts with two dots\r\n"
            b"...\r\n"          # a line that is only '..'
            b"..\r\n"           # a line that is only '.'
            b"middle . dot\r\n"
            b". space\r\n"      # an unstuffed '.' + text: dot removed
            b"end\r\n")
    code, _ = raw_send(c, b"s@example.net", [b"alice@example.org"], wire)
    assert code == 250
    msg = petrel.wait_mailbox("alice", 1)[0]
    assert body_of(msg) == (b"Subject: dots\r\n\r\n"
                            b".starts with one dot\r\n"
                            b"..starts with two dots\r\n"
                            b"..\r\n"
                            b".\r\n"
                            b"middle . dot\r\n"
                            b" space\r\n"
                            b"end\r\n")


def test_dot_stuffing_roundtrip_smtplib(petrel):
    data = (b"Subject: dots\r\n\r\n.\r\n..\r\n...\r\n.a\r\n..b\r\n"
            b"x.\r\n.\r\n")
    with smtplib.SMTP("127.0.0.1", petrel.port) as s:
        s.sendmail("s@example.net", ["alice@example.org"], data)
    msgs = petrel.wait_mailbox("alice", 1)
    assert body_of(msgs[0]) == data


def test_first_line_dot_right_after_354(petrel, raw):
    # The data begins at a line start, so its first line may be stuffed.
    data = b".first line is a dot line\r\nSubject: x\r\n\r\nb\r\n"
    assert roundtrip(petrel, raw, data) == data


def test_long_lines_exact(petrel, raw):
    line5k = bytes((0x41 + i % 26) for i in range(5000))
    line200k = bytes((0x61 + i % 26) for i in range(200 * 1024))
    data = (b"Subject: long\r\n\r\n" + line5k + b"\r\n" + line200k +
            b"\r\n." + line5k + b"\r\nend\r\n")
    assert roundtrip(petrel, raw, data) == data


def test_long_line_split_across_writes(petrel, raw):
    """A 200 KB line arriving in small pieces, with the CRLF and the end
    mark split too."""
    c = greet(raw())
    assert c.cmd(b"MAIL FROM:<s@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    line = bytes((0x30 + i % 10) for i in range(200 * 1024))
    wire = b"Subject: pieces\r\n\r\n" + line + b"\r\n.\r\n"
    for i in range(0, len(wire) - 5, 7001):
        c.send(wire[i:i + 7001])
    tail_start = (len(wire) - 5) // 7001 * 7001 + 7001
    for i in range(tail_start, len(wire)):
        c.send(wire[i:i + 1])
        time.sleep(0.001)
    assert c.reply()[0] == 250
    msgs = petrel.wait_mailbox("alice", 1)
    assert body_of(msgs[0]) == wire[:-3]


def test_empty_lines_exact(petrel, raw):
    data = b"Subject: empty lines\r\n\r\n\r\n\r\nbody\r\n\r\n\r\n"
    assert roundtrip(petrel, raw, data) == data


def test_eight_bit_bytes_exact(petrel, raw):
    c = greet(raw())
    assert c.cmd(b"MAIL FROM:<s@example.net> BODY=8BITMIME")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    data = (b"Subject: 8bit\r\nContent-Type: text/plain; charset=latin1\r\n"
            b"\r\n" + bytes(range(0x80, 0x100)) + b"\r\n" +
            "Grüße, 日本語\r\n".encode() + b"\xff\xfe\r\n")
    c.send(dot_stuff(data) + b".\r\n")
    assert c.reply()[0] == 250
    msgs = petrel.wait_mailbox("alice", 1)
    assert body_of(msgs[0]) == data


def test_control_bytes_and_bare_cr_lf_kept(petrel, raw):
    # Bare CR and LF are not line ends; they are stored as they came.
    data = (b"Subject: ctl\r\n\r\ntab\there\r\nbare\nlf\r\nbare\rcr\r\n"
            b"\x01\x02\x1b[0m\r\n")
    assert roundtrip(petrel, raw, data) == data


def test_empty_message(petrel, raw):
    c = greet(raw())
    assert c.cmd(b"MAIL FROM:<s@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    c.send(b".\r\n")
    assert c.reply()[0] == 250
    msgs = petrel.wait_mailbox("alice", 1)
    assert len(msgs) == 1
    assert body_of(msgs[0]) == b""


def test_headers_only_message(petrel, raw):
    data = b"Subject: only a header\r\n"
    assert roundtrip(petrel, raw, data) == data


def test_received_line_on_top(petrel, raw):
    data = b"Subject: trace\r\n\r\nx\r\n"
    c = greet(raw())
    code, lines = raw_send(c, b"s@example.net", [b"alice@example.org"], data)
    assert code == 250
    msg = petrel.wait_mailbox("alice", 1)[0]
    head = msg[:len(msg) - len(data)]
    # RFC 5321 §4.4: the Return-Path first, then our trace line in
    # Postfix's form (issue #11): the HELO name, then the client's
    # forward-confirmed reverse DNS name ("unknown": the test DNS has
    # none for 127.0.0.1) and address.
    assert head.startswith(
        b"Return-Path: <s@example.net>\r\n"
        b"Received: from client.example.net (unknown [127.0.0.1])")
    assert b"by mx.example.org (petrel) with ESMTP id " in head
    assert b"for <alice@example.org>;" in head


def test_several_messages_one_session(petrel, raw):
    c = greet(raw())
    sent = []
    for i in range(5):
        data = b"Subject: n%d\r\n\r\nmessage %d\r\n" % (i, i)
        code, _ = raw_send(c, b"s@example.net", [b"bob@example.org"], data)
        assert code == 250
        sent.append(data)
    msgs = petrel.wait_mailbox("bob", 5)
    assert sorted(body_of(m) for m in msgs) == sorted(sent)


def test_swaks_dot_lines(petrel):
    body = "Line one\n.dot line\n..two dots\n.\nlast"
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{petrel.port}",
                        "--to", "bob@example.org", "--from", "s@example.net",
                        "--body", body], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    msgs = petrel.wait_mailbox("bob", 1)
    b = body_of(msgs[0])
    assert b"\r\nLine one\r\n.dot line\r\n..two dots\r\n.\r\nlast\r\n" in b


# --- SMTP smuggling (CVE-2023-51764 class) ---

SMUGGLE_ENDS = [b"\n.\n", b"\r.\r", b"\r\n.\n", b"\n.\r\n", b"\r\n.\r",
                b"\r.\r\n"]


@pytest.mark.parametrize("end", SMUGGLE_ENDS,
                         ids=[repr(e)[2:-1] for e in SMUGGLE_ENDS])
def test_smuggling_is_one_message(petrel, raw, end):
    c = greet(raw())
    assert c.cmd(b"MAIL FROM:<honest@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    smuggled = (b"MAIL FROM:<evil@x>\r\n"
                b"RCPT TO:<bob@example.org>\r\n"
                b"DATA\r\n"
                b"From: evil@x\r\nSubject: smuggled\r\n\r\n"
                b"smuggled text\r\n")
    c.send(b"Subject: outer\r\n\r\nouter text" + end + smuggled +
           b".\r\nQUIT\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    code, lines = c.reply()
    assert code == 221, lines  # no second transaction's replies
    assert c.closed()
    msgs = petrel.wait_mailbox("alice", 1)
    assert len(msgs) == 1
    body = body_of(msgs[0])
    assert body.startswith(b"Subject: outer\r\n\r\nouter text")
    assert b"smuggled text" in body
    assert b"MAIL FROM:<evil@x>" in body
    time.sleep(0.3)
    assert petrel.mailbox("bob") == []
    assert len(petrel.mailbox("alice")) == 1
    assert "evil@x" not in petrel.log()
