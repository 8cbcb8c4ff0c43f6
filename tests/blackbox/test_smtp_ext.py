"""Issue 9, one instance: Return-Path, the small loose ends (empty DATA,
VRFY, AUTH), SMTPUTF8 (RFC 6531), CHUNKING/BDAT (RFC 3030) and the DSN
parameters (RFC 3461) as the server takes them, with raw sockets (byte
exact), smtplib and swaks."""

import email
import os
import smtplib
import subprocess

import pytest

from conftest import Raw, body_of, greet, raw_send, strip_return_path
from test_outbound import wait_for

MSG = b"Subject: hello\r\nFrom: s@example.net\r\n\r\nbody line\r\n"


def header_fields(msg: bytes):
    """The header section's field names, in order (folds joined)."""
    head = msg.split(b"\r\n\r\n", 1)[0]
    return [ln.split(b":", 1)[0] for ln in head.split(b"\r\n")
            if ln and ln[:1] not in (b" ", b"\t")]


def mail_dir(p, domain, folder):
    return p.data_dir / "mail" / domain / folder


# --- Return-Path (RFC 5321 §4.4) --------------------------------------------

def test_return_path_exactly_one_first(petrel, raw):
    # Arriving Return-Path fields, plain, folded and with WSP before the
    # colon, go; ours is first and the only one.
    data = (b"Return-Path: <forged@example.net>\r\n"
            b"Subject: rp\r\n"
            b"return-path:\r\n <also@forged>\r\n"
            b"Return-Path  : <third@x>\r\n"
            b"X-Keep: Return-Path: <in a value>\r\n"
            b"\r\n"
            b"Return-Path: <in the body stays>\r\n")
    c = greet(raw())
    code, _ = raw_send(c, b"s@example.net", [b"alice@example.org"], data)
    assert code == 250
    msg = petrel.wait_mailbox("alice", 1)[0]
    assert msg.startswith(b"Return-Path: <s@example.net>\r\nReceived: ")
    assert header_fields(msg).count(b"Return-Path") == 1
    assert body_of(msg) == (b"Subject: rp\r\n"
                            b"X-Keep: Return-Path: <in a value>\r\n"
                            b"\r\n"
                            b"Return-Path: <in the body stays>\r\n")


def test_return_path_null_sender(petrel, raw):
    c = greet(raw())
    code, _ = raw_send(c, b"", [b"bob@example.org"], MSG)
    assert code == 250
    msg = petrel.wait_mailbox("bob", 1)[0]
    assert msg.startswith(b"Return-Path: <>\r\nReceived: from ")
    assert body_of(msg) == MSG


def test_return_path_every_local_copy(petrel):
    """One spool file, hard-linked into each Maildir: each copy has the
    same single Return-Path."""
    with smtplib.SMTP("127.0.0.1", petrel.port, timeout=30) as s:
        s.sendmail("Some.One@Example.NET",
                   ["alice@example.org", "bob@example.org"], MSG)
    for u in ("alice", "bob"):
        m = petrel.wait_mailbox(u, 1)[0]
        assert m.startswith(b"Return-Path: <Some.One@example.net>\r\n"), m
        assert header_fields(m).count(b"Return-Path") == 1


def test_return_path_pickup_and_sendmail(petrel):
    pickup = petrel.data_dir / "pickup"
    tmp = petrel.base / "m.tmp"
    tmp.write_bytes(b"X-Sender: <zed@example.net>\n"
                    b"X-Receiver: <alice@example.org>\n"
                    b"Return-Path: <forged@x>\n"
                    b"Subject: pickup rp\n\nhi\n")
    os.rename(tmp, pickup / "m")
    petrel.cli("sendmail", "-f", "yves@example.net", "bob@example.org",
               input="Return-Path: <forged@y>\nSubject: sm rp\n\nhi\n")
    a = petrel.wait_mailbox("alice", 1)[0]
    b = petrel.wait_mailbox("bob", 1)[0]
    assert a.startswith(b"Return-Path: <zed@example.net>\r\nReceived: ")
    assert b.startswith(b"Return-Path: <yves@example.net>\r\nReceived: ")
    for m in (a, b):
        assert header_fields(m).count(b"Return-Path") == 1, m
        assert b"forged" not in m


# --- small loose ends -------------------------------------------------------

def test_empty_data_delivered_with_trace(petrel, raw):
    # DATA, then "." at once.
    code, lines = raw_send(greet(raw()), b"s@example.net",
                           [b"alice@example.org"], b"")
    assert code == 250, lines
    m = petrel.wait_mailbox("alice", 1)[0]
    assert m.startswith(b"Return-Path: <s@example.net>\r\nReceived: from ")
    assert body_of(m) == b""
    assert m.endswith(b"\r\n")


def test_vrfy_without_argument_501(raw):
    c = greet(raw())
    # smtp_vrfy_expn is off by default: VRFY x is 252, VRFY alone 501.
    assert c.cmd(b"VRFY alice@example.org")[0] == 252
    code, lines = c.cmd(b"VRFY")
    assert code == 501 and lines[0].startswith(b"501 5.5.4"), lines
    code, lines = c.cmd(b"VRFY   ")
    assert code == 501, lines


@pytest.mark.parametrize("mech", [b"CRAM-MD5", b"SCRAM-SHA-256-PLUS",
                                  b"X-UNKNOWN-MECHANISM1"])
def test_auth_unknown_mechanism_504_even_without_tls(raw, mech):
    """RFC 4954 §6: 504 5.5.4 for a mechanism we do not have, before the
    TLS question (538) and for 20-character names too."""
    c = greet(raw())
    code, lines = c.cmd(b"AUTH " + mech)
    assert code == 504 and lines[0].startswith(b"504 5.5.4"), lines
    assert c.cmd(b"AUTH PLAIN")[0] == 538
    assert c.cmd(b"AUTH " + b"X" * 21)[0] == 501
    assert c.cmd(b"NOOP")[0] == 250


def test_ehlo_offers_the_extensions(raw):
    c = raw()
    c.reply()
    code, lines = c.cmd(b"EHLO client.example.net")
    kw = [ln[4:] for ln in lines[1:]]
    for k in (b"DSN", b"SMTPUTF8", b"CHUNKING", b"BINARYMIME", b"8BITMIME"):
        assert k in kw, kw


# --- SMTPUTF8 (RFC 6531) ----------------------------------------------------

JOERG = "jörg@example.org"


@pytest.fixture
def intl(petrel):
    petrel.cli("user", "add", JOERG, input="secret\n")
    petrel.cli("domain", "add", "bücher.example")
    petrel.cli("user", "add", "leser@bücher.example", input="secret\n")
    return petrel


def test_utf8_needs_smtputf8_553(intl, raw):
    c = greet(raw())
    code, lines = c.cmd("MAIL FROM:<jörg@example.net>".encode())
    assert code == 553 and lines[0].startswith(b"553 5.6.7"), lines
    assert c.cmd(b"MAIL FROM:<s@example.net>")[0] == 250
    code, lines = c.cmd(f"RCPT TO:<{JOERG}>".encode())
    assert code == 553 and lines[0].startswith(b"553 5.6.7"), lines
    # Malformed UTF-8 is a syntax error, SMTPUTF8 or not.
    c.cmd(b"RSET")
    assert c.cmd(b"MAIL FROM:<s@example.net> SMTPUTF8")[0] == 250
    assert c.cmd(b"RCPT TO:<j\xc3@example.org>")[0] == 501
    assert c.cmd(b"RCPT TO:<a@\xe2\x9d\xa4.example>")[0] == 501


def test_utf8_local_part_stored_in_escaped_folder(intl):
    with smtplib.SMTP("127.0.0.1", intl.port, timeout=30) as s:
        s.ehlo("client.example.net")
        assert s.has_extn("smtputf8")
        refused = s.sendmail("sänder@example.net", [JOERG],
                             "Subject: grüße\r\n\r\nÄÖÜ\r\n".encode(),
                             mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        assert refused == {}
    box = mail_dir(intl, "example.org", "j%C3%B6rg")
    assert wait_for(lambda: list((box / "new").glob("*")), 10), \
        intl.log()[-2000:]
    m = next((box / "new").iterdir()).read_bytes()
    assert m.startswith("Return-Path: <sänder@example.net>\r\n".encode())
    # RFC 6531 §3.7.3: the protocol is UTF8SMTP.
    assert b" with UTF8SMTP id " in m
    assert "Subject: grüße\r\n".encode() in m
    # Nothing outside mail/ was made from the address.
    assert [p.name for p in (intl.data_dir / "mail").iterdir()] == \
        ["example.org"]
    assert [p.name for p in (intl.data_dir / "mail" / "example.org")
            .iterdir()] == ["j%C3%B6rg"]


def test_idn_domain_u_label_and_a_label_are_one(intl):
    """The hosted domain was added as U-label; mail for either spelling
    reaches one mailbox under the A-label folder."""
    with smtplib.SMTP("127.0.0.1", intl.port, timeout=30) as s:
        s.sendmail("s@example.net", ["leser@bücher.example"],
                   b"Subject: u\r\n\r\nu\r\n", mail_options=["SMTPUTF8"])
        s.sendmail("s@example.net", ["LESER@XN--BCHER-KVA.example"],
                   b"Subject: a\r\n\r\na\r\n")
    msgs = intl.wait_mailbox("leser", 2, domain="xn--bcher-kva.example")
    assert len(msgs) == 2, intl.log()[-2000:]
    out = intl.cli("domain", "list").stdout
    assert "xn--bcher-kva.example" in out


# --- CHUNKING (RFC 3030) ----------------------------------------------------

def bdat_session(p):
    c = Raw(p.port)
    greet(c)
    return c


def test_bdat_chunks_byte_exact(petrel):
    c = bdat_session(petrel)
    assert c.cmd(b"MAIL FROM:<s@example.net> BODY=BINARYMIME")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    parts = [b"Subject: chunks\r\n\r\n", b"bin\x00ary\r.\r\n..x\nno crlf",
             b"", b"\r\nend"]
    for part in parts:
        c.send(b"BDAT %d\r\n" % len(part) + part)
        code, lines = c.reply()
        assert code == 250, lines
    c.send(b"BDAT 0 LAST\r\n")
    code, lines = c.reply()
    assert code == 250 and b"queued as" in lines[0], lines
    m = petrel.wait_mailbox("alice", 1)[0]
    # No dot-stuffing, nothing added, nothing changed.
    assert body_of(m) == b"".join(parts)


def test_bdat_pipelined_with_next_transaction(petrel):
    c = bdat_session(petrel)
    one = b"Subject: one\r\n\r\nfirst\r\n"
    two = b"Subject: two\r\n\r\nsecond\r\n"
    c.send(b"MAIL FROM:<s@example.net>\r\nRCPT TO:<alice@example.org>\r\n"
           + b"BDAT %d LAST\r\n" % len(one) + one +
           b"MAIL FROM:<s@example.net>\r\nRCPT TO:<bob@example.org>\r\n"
           b"BDAT 5\r\n" + two[:5] + b"BDAT %d LAST\r\n" % (len(two) - 5) +
           two[5:] + b"QUIT\r\n")
    codes = [c.reply()[0] for _ in range(8)]
    assert codes == [250, 250, 250, 250, 250, 250, 250, 221], codes
    assert body_of(petrel.wait_mailbox("alice", 1)[0]) == one
    assert body_of(petrel.wait_mailbox("bob", 1)[0]) == two


def test_bdat_refused_chunks_are_read_and_skipped(petrel):
    """Out of place, with no valid recipient, or with a bad end-marker,
    a BDAT's octets are still read (they are not commands)."""
    c = bdat_session(petrel)
    junk = b"RCPT TO:<x@y>\r\nQUIT\r\n"
    c.send(b"BDAT %d\r\n" % len(junk) + junk)
    code, lines = c.reply()
    assert code == 503, lines
    assert c.cmd(b"MAIL FROM:<s@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<nobody@example.org>")[0] == 550
    c.send(b"BDAT %d LAST\r\n" % len(junk) + junk)
    code, lines = c.reply()
    assert code == 554 and lines[0].startswith(b"554 5.5.1"), lines
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    c.send(b"BDAT 4 NOTLAST\r\nQUIT")
    code, lines = c.reply()
    assert code == 501, lines
    assert c.cmd(b"NOOP")[0] == 250
    # The session is in step: a whole message still goes through.
    assert c.cmd(b"RSET")[0] == 250
    assert c.cmd(b"MAIL FROM:<s@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    c.send(b"BDAT 3 LAST\r\nok\n")
    assert c.reply()[0] == 250
    assert body_of(petrel.wait_mailbox("alice", 1)[0]) == b"ok\n"


def test_bdat_and_data_do_not_mix(petrel):
    c = bdat_session(petrel)
    assert c.cmd(b"MAIL FROM:<s@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    c.send(b"BDAT 4\r\nabcd")
    assert c.reply()[0] == 250
    code, lines = c.cmd(b"DATA")
    assert code == 503, lines
    code, lines = c.cmd(b"RCPT TO:<bob@example.org>")
    assert code == 503, lines
    c.send(b"BDAT 2 LAST\r\nef")
    assert c.reply()[0] == 250
    assert body_of(petrel.wait_mailbox("alice", 1)[0]) == b"abcdef"
    # BINARYMIME needs BDAT: DATA is refused.
    assert c.cmd(b"MAIL FROM:<s@example.net> BODY=BINARYMIME")[0] == 250
    assert c.cmd(b"RCPT TO:<bob@example.org>")[0] == 250
    code, lines = c.cmd(b"DATA")
    assert code == 503, lines
    assert petrel.mailbox("bob") == []


def test_bdat_bad_size_closes(petrel):
    c = bdat_session(petrel)
    code, lines = c.cmd(b"BDAT x LAST")
    assert code == 501, lines
    assert c.closed()


def test_bdat_over_the_size_limit(petrel_factory):
    p = petrel_factory(extra={"max_message_size": "10k"})
    c = bdat_session(p)
    assert c.cmd(b"MAIL FROM:<s@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    c.send(b"BDAT 6000\r\n" + b"a" * 6000)
    assert c.reply()[0] == 250
    # Known too big before a byte is read: read, not stored, 552, and
    # the transaction is over (its next chunk is out of place).
    c.sock.settimeout(30)
    c.send(b"BDAT 6000\r\n" + b"b" * 6000 + b"BDAT 1 LAST\r\nc")
    code, lines = c.reply()
    assert code == 552 and lines[0].startswith(b"552 5.3.4"), lines
    assert c.reply()[0] == 503
    assert list((p.data_dir / "queue" / "tmp").iterdir()) == []
    # Too big by the Received: line only: refused after LAST.
    assert c.cmd(b"MAIL FROM:<s@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    c.send(b"BDAT 10240 LAST\r\n" + b"d" * 10240)
    assert c.reply()[0] == 552
    # A big chunk is streamed, not held: one of 9 KiB passes.
    assert c.cmd(b"MAIL FROM:<s@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    c.send(b"BDAT 9000 LAST\r\n" + b"e" * 9000)
    assert c.reply()[0] == 250
    msgs = p.wait_mailbox("alice", 1)
    assert len(msgs) == 1 and body_of(msgs[0]) == b"e" * 9000


def test_swaks_return_path_replaced(petrel):
    """A real client (swaks, pipelining) sending a Return-Path header of
    its own: delivered with ours only."""
    r = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{petrel.port}", "--from",
         "s@example.net", "--to", "alice@example.org", "--pipeline",
         "--add-header", "Return-Path: <swaks-forged@example.net>",
         "--header", "Subject: by swaks", "--body", "swaks body"],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    m = petrel.wait_mailbox("alice", 1)[0]
    assert m.startswith(b"Return-Path: <s@example.net>\r\n"), m[:200]
    assert header_fields(m).count(b"Return-Path") == 1
    assert b"swaks-forged" not in m and b"swaks body" in m


# --- DSN parameters (RFC 3461) ----------------------------------------------

def test_dsn_parameters_syntax(raw):
    c = greet(raw())
    assert c.cmd(b"MAIL FROM:<s@example.net> RET=FULL ENVID=ab+2Bc")[0] \
        == 250
    for bad in (b"NOTIFY=NEVER,SUCCESS", b"NOTIFY=SOMETIMES",
                b"ORCPT=bob@example.org", b"ORCPT=rfc822;a+0Ab"):
        code, lines = c.cmd(b"RCPT TO:<alice@example.org> " + bad)
        assert code == 501 and lines[0].startswith(b"501 5.5.4"), (bad, lines)
    code, lines = c.cmd(b"RCPT TO:<alice@example.org> NOTIFY=SUCCESS,DELAY "
                        b"ORCPT=rfc822;Alice+40Example.org@x")
    assert code == 250, lines
    c.cmd(b"RSET")
    for bad in (b"RET=ALL", b"ENVID=a+zz", b"RET=FULL RET=HDRS"):
        code, lines = c.cmd(b"MAIL FROM:<s@example.net> " + bad)
        assert code == 501, (bad, lines)


def parse_report(raw_msg: bytes):
    m = email.message_from_bytes(raw_msg)
    assert m.get_content_type() == "multipart/report", raw_msg[:500]
    parts = m.get_payload()
    status = [p for p in parts if p.get_content_type() in (
        "message/delivery-status", "message/global-delivery-status")][0]
    blocks = status.get_payload()
    return m, parts, blocks[0], blocks[1:]


def test_success_notice_on_local_delivery(petrel):
    """NOTIFY=SUCCESS for a local mailbox: one "delivered" notice to the
    sender (here a local user too), with ENVID and ORCPT in it."""
    with smtplib.SMTP("127.0.0.1", petrel.port, timeout=30) as s:
        s.ehlo("client.example.net")
        assert s.has_extn("dsn")
        s.sendmail("alice@example.org", ["bob@example.org"], MSG,
                   mail_options=["RET=HDRS", "ENVID=QQ314159"],
                   rcpt_options=["NOTIFY=SUCCESS",
                                 "ORCPT=rfc822;Bob+2Btag@example.org"])
    assert len(petrel.wait_mailbox("bob", 1)) == 1
    notes = petrel.wait_mailbox("alice", 1, timeout=15)
    assert len(notes) == 1, petrel.log()[-3000:]
    n = notes[0]
    assert n.startswith(b"Return-Path: <>\r\n")
    m, parts, per_msg, per_rcpt = parse_report(strip_return_path(n))
    assert m["Subject"] == "Successful Mail Delivery Report"
    assert per_msg["Original-Envelope-Id"] == "QQ314159"
    assert len(per_rcpt) == 1
    b = per_rcpt[0]
    assert b["Action"] == "delivered"
    assert b["Status"].startswith("2.")
    assert b["Original-Recipient"] == "rfc822;Bob+tag@example.org"
    assert b["Final-Recipient"] == "rfc822;bob@example.org"
    # Only the header of the original comes back with a success.
    assert b"body line" not in n
    # And only one: once the message has left the queue (after its
    # notice was committed), no other can come.
    assert wait_for(lambda: "Mail queue is empty" in
                    petrel.cli("queue", "list").stdout, 10)
    assert len(petrel.mailbox("alice")) == 1
    # Without NOTIFY=SUCCESS, no notice at all: delivered at once, never
    # queued, nothing left to send one.
    with smtplib.SMTP("127.0.0.1", petrel.port, timeout=30) as s:
        s.sendmail("alice@example.org", ["bob@example.org"], MSG)
    assert len(petrel.wait_mailbox("bob", 2)) == 2
    assert wait_for(lambda: "queue skipped, delivered" in petrel.log(), 5)
    assert "Mail queue is empty" in petrel.cli("queue", "list").stdout
    assert len(petrel.mailbox("alice")) == 1


def bounce_setup(petrel_factory, **extra):
    settings = {"retry_intervals": "1s", "queue_lifetime": "1s"}
    settings.update(extra)
    return petrel_factory(extra=settings)


def send_to_remote(p, notify=None, ret=None, rcpt="carol@example.net"):
    mail = [ret] if ret else []
    rcpt_opts = [notify] if notify else []
    with smtplib.SMTP("127.0.0.1", p.port, timeout=30) as s:
        s.sendmail("alice@example.org", [rcpt],
                   b"Subject: far\r\n\r\nthe whole body\r\n",
                   mail_options=mail, rcpt_options=rcpt_opts)


@pytest.mark.parametrize("ret,full", [("RET=FULL", True),
                                      ("RET=HDRS", False),
                                      (None, False)])
def test_failure_notice_ret(petrel_factory, ret, full):
    """example.net's MX has nothing listening: deferred until
    queue_lifetime (1 s), then a failure notice, RET= deciding whether
    the whole message comes back."""
    p = bounce_setup(petrel_factory)
    send_to_remote(p, ret=ret)
    notes = p.wait_mailbox("alice", 1, timeout=20)
    assert len(notes) == 1, p.log()[-3000:]
    m, parts, _, per_rcpt = parse_report(strip_return_path(notes[0]))
    assert m["Subject"] == "Undelivered Mail Returned to Sender"
    assert per_rcpt[0]["Action"] == "failed"
    types = [x.get_content_type() for x in parts]
    if full:
        assert "message/rfc822" in types, types
        assert b"the whole body" in notes[0]
    else:
        assert "text/rfc822-headers" in types, types
        assert b"the whole body" not in notes[0]
    # The returned original has no Return-Path of ours.
    assert notes[0].count(b"Return-Path:") == 1


def test_notify_never_means_no_bounce(petrel_factory):
    p = bounce_setup(petrel_factory)
    send_to_remote(p, notify="NOTIFY=NEVER")
    # Removed (after the decision not to notify): nothing can follow.
    assert wait_for(lambda: "NOTIFY" in p.log() and "Mail queue is empty"
                    in p.cli("queue", "list").stdout, 20), p.log()[-3000:]
    assert p.mailbox("alice") == []
    assert list((p.data_dir / "badmail").iterdir()) == []


# --- delay notices (delay_warning_time) -------------------------------------

def test_delay_warning_once_across_restart(petrel_factory):
    p = bounce_setup(petrel_factory, delay_warning_time="1s",
                     queue_lifetime="1h")
    send_to_remote(p)
    notes = p.wait_mailbox("alice", 1, timeout=15)
    assert len(notes) == 1, p.log()[-3000:]
    m, parts, per_msg, per_rcpt = parse_report(strip_return_path(notes[0]))
    assert m["Subject"] == "Delayed Mail (still being retried)"
    assert per_rcpt[0]["Action"] == "delayed"
    assert per_rcpt[0]["Status"].startswith("4.")
    assert per_rcpt[0]["Will-Retry-Until"]
    assert "carol@example.net" in p.cli("queue", "list").stdout
    # Recorded durably: a restart does not warn again.
    assert p.stop() == 0
    envs = list((p.data_dir / "queue" / "env").iterdir())
    assert len(envs) == 1 and b"\nwarned\t" in envs[0].read_bytes()
    before = p.log().count("to=<carol@example.net>, status=deferred")
    p.start()
    assert wait_for(lambda: p.log().count(
        "to=<carol@example.net>, status=deferred") >= before + 2, 15)
    assert len(p.mailbox("alice")) == 1


@pytest.mark.parametrize("extra,notify", [
    ({"delay_warning_time": "0"}, None),
    ({"delay_warning_time": "1s"}, "NOTIFY=FAILURE"),
    ({"delay_warning_time": "1s"}, "NOTIFY=NEVER"),
])
def test_no_delay_warning(petrel_factory, extra, notify):
    p = bounce_setup(petrel_factory, queue_lifetime="1h", **extra)
    send_to_remote(p, notify=notify)
    assert wait_for(lambda: p.log().count(
        "to=<carol@example.net>, status=deferred") >= 3, 15), p.log()
    assert p.mailbox("alice") == []
