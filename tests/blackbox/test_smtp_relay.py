"""Relay control: only relay_networks (127.0.0.1/32 in the fixture) may
send to domains petrel does not host; no address trick (percent hack,
bang path, source route, quoted '@', address literal) opens a relay.
127.0.0.2 is an untrusted client."""
import smtplib
import time

import pytest

from conftest import Raw, body_of, greet, queue_id, raw_send

UNTRUSTED = "127.0.0.2"


def untrusted(p):
    return greet(Raw(p.port, source=UNTRUSTED))


def queue_empty(p):
    out = p.cli("queue", "list").stdout
    return "Mail queue is empty" in out, out


def test_untrusted_remote_rcpt_denied(petrel):
    c = untrusted(petrel)
    try:
        assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
        code, lines = c.cmd(b"RCPT TO:<someone@example.net>")
        assert code == 554
        assert lines[0].startswith(b"554 5.7.1")
        # No recipient: DATA is refused too.
        assert c.cmd(b"DATA")[0] in (503, 554)
    finally:
        c.close()
    ok, out = queue_empty(petrel)
    assert ok, out


def test_untrusted_local_rcpt_accepted(petrel):
    c = untrusted(petrel)
    try:
        code, lines = raw_send(c, b"a@example.net", [b"alice@example.org"],
                               b"Subject: inbound\r\n\r\nfrom outside\r\n")
        assert code == 250
    finally:
        c.close()
    msg = petrel.wait_mailbox("alice", 1)[0]
    assert b"[127.0.0.2]" in msg.split(b"\r\n\r\n")[0]


def test_untrusted_smtplib_source_address(petrel):
    with smtplib.SMTP("127.0.0.1", petrel.port,
                      source_address=(UNTRUSTED, 0)) as s:
        s.ehlo()
        s.mail("a@example.net")
        code, _ = s.rcpt("user@example.com")
        assert code == 554


# (RCPT argument, expected code, expected enhanced code)
TRICKS = [
    (b"<user%example.net@example.org>", 550, b"5.1.1"),
    (b"<example.net!user@example.org>", 550, b"5.1.1"),
    (b"<user%example.net>", 501, None),
    (b"<@example.org:user@example.net>", 554, b"5.7.1"),
    (b"<@example.org,@mx.example.org:user@example.net>", 554, b"5.7.1"),
    (b'<"user@example.net"@example.org>', 550, b"5.1.1"),
    (b'<"user%example.net"@example.org>', 550, b"5.1.1"),
    (b'<"example.net!user"@example.org>', 550, b"5.1.1"),
    (b"<user@[127.0.0.1]>", 554, b"5.7.1"),
    (b"<user@[IPv6:::1]>", 554, b"5.7.1"),
    (b"<user@example.org.>", None, None),
    (b"<user@example.net@example.org>", 501, None),
    (b"<alice@example.org@example.net>", 501, None),
    (b"<user@EXAMPLE.NET>", 554, b"5.7.1"),
]


@pytest.mark.parametrize("rcpt,code,enh", TRICKS,
                         ids=[t[0].decode() for t in TRICKS])
def test_relay_tricks_never_relay(petrel, rcpt, code, enh):
    c = untrusted(petrel)
    try:
        assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
        got, lines = c.cmd(b"RCPT TO:" + rcpt)
        if code is None:
            assert got >= 500, lines  # refused somehow, never 250
        else:
            assert got == code, lines
        if enh is not None:
            assert lines[0].startswith(b"%d %s" % (code, enh)), lines
        # Nothing to send the data to.
        got, lines = c.cmd(b"DATA")
        assert got in (503, 554), lines
    finally:
        c.close()
    time.sleep(0.1)
    ok, out = queue_empty(petrel)
    assert ok, out
    assert [p for p in (petrel.data_dir / "mail").rglob("*")
            if p.is_file()] == []


def test_trusted_relay_is_queued(petrel):
    c = greet(Raw(petrel.port))
    try:
        code, lines = raw_send(c, b"alice@example.org",
                               [b"someone@example.net"],
                               b"Subject: out\r\n\r\nto the world\r\n")
        assert code == 250, lines
        qid = queue_id(lines[0])
    finally:
        c.close()
    out = petrel.cli("queue", "list").stdout
    assert qid in out, out
    assert "<alice@example.org>" in out
    rcpt_lines = [ln for ln in out.splitlines()
                  if "<someone@example.net>" in ln]
    assert len(rcpt_lines) == 1, out
    # With the reason it is still waiting.
    assert "(" in rcpt_lines[0] and rcpt_lines[0].rstrip().endswith(")"), out


def test_trusted_source_route_relays_to_final_mailbox(petrel):
    """From a trusted client a source route is accepted and ignored
    (RFC 5321 §4.1.1.3 / appendix C): the final mailbox is the target."""
    c = greet(Raw(petrel.port))
    try:
        assert c.cmd(b"MAIL FROM:<alice@example.org>")[0] == 250
        code, lines = c.cmd(b"RCPT TO:<@relay.example.com:user@example.net>")
        assert code == 250, lines
        assert c.cmd(b"DATA")[0] == 354
        c.send(b"Subject: sr\r\n\r\nx\r\n.\r\n")
        assert c.reply()[0] == 250
    finally:
        c.close()
    out = petrel.cli("queue", "list").stdout
    assert "<user@example.net>" in out, out
    assert "relay.example.com" not in out


def test_trusted_percent_hack_not_interpreted(petrel):
    c = greet(Raw(petrel.port))
    try:
        assert c.cmd(b"MAIL FROM:<alice@example.org>")[0] == 250
        code, _ = c.cmd(b"RCPT TO:<user%example.net@example.org>")
        assert code == 550
    finally:
        c.close()
    ok, out = queue_empty(petrel)
    assert ok, out


@pytest.mark.parametrize("source", [None, UNTRUSTED])
def test_postmaster_always_accepted(petrel, source):
    c = greet(Raw(petrel.port, source=source))
    try:
        assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
        code, lines = c.cmd(b"RCPT TO:<postmaster>")
        assert code == 250, lines
        assert c.cmd(b"DATA")[0] == 354
        c.send(b"Subject: bare\r\n\r\nto postmaster\r\n.\r\n")
        assert c.reply()[0] == 250
        code, lines = raw_send(c, b"a@example.net",
                               [b"postmaster@example.org"],
                               b"Subject: dom\r\n\r\nto postmaster@dom\r\n")
        assert code == 250, lines
        # RFC 5321 §4.5.1: "postmaster" is case-insensitive.
        code, lines = c.cmd(b"MAIL FROM:<a@example.net>")
        assert code == 250
        code, lines = c.cmd(b"RCPT TO:<PostMaster>")
        assert code == 250, lines
        assert c.cmd(b"RSET")[0] == 250
        code, lines = raw_send(c, b"a@example.net",
                               [b"PostMaster@Example.ORG"],
                               b"Subject: case\r\n\r\ncase\r\n")
        assert code == 250, lines
    finally:
        c.close()
    # <postmaster> alone is this host's postmaster (RFC 5321 §4.5.1).
    bare = petrel.wait_mailbox("postmaster", 1, domain="mx.example.org")
    assert len(bare) == 1
    assert body_of(bare[0]) == b"Subject: bare\r\n\r\nto postmaster\r\n"
    dom = petrel.wait_mailbox("postmaster", 2)
    assert sorted(body_of(m) for m in dom) == sorted([
        b"Subject: dom\r\n\r\nto postmaster@dom\r\n",
        b"Subject: case\r\n\r\ncase\r\n"])
    ok, out = queue_empty(petrel)
    assert ok, out


def test_postmaster_of_remote_domain_not_relayed(petrel):
    c = untrusted(petrel)
    try:
        assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
        code, lines = c.cmd(b"RCPT TO:<postmaster@example.net>")
        assert code == 554, lines
    finally:
        c.close()
    ok, out = queue_empty(petrel)
    assert ok, out


def test_null_sender_accepted(petrel):
    c = untrusted(petrel)
    try:
        code, lines = raw_send(c, b"", [b"alice@example.org"],
                               b"Subject: bounce\r\n\r\nDSN\r\n")
        assert code == 250, lines
    finally:
        c.close()
    assert len(petrel.wait_mailbox("alice", 1)) == 1
