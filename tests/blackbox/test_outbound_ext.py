"""Issue 9 on the way out: two petrels (A on 127.0.0.2, B on 127.0.0.3)
and aiosmtpd as a plain next hop (127.0.0.4: no CHUNKING, DSN,
SMTPUTF8 or BINARYMIME), all found through the dnsmasq fixture. BDAT
when offered, the Return-Path never sent on, SMTPUTF8 asked for when
needed and a clear 5.6.7 bounce when the next hop lacks it, the DSN
request passed on or answered with "relayed", BINARYMIME only where it
can go."""

import email
import re
import smtplib

import pytest

from conftest import DNS, Raw, body_of, greet, strip_return_path
from test_outbound import (B_IP, C_IP, Net, queue_empty,
                           queue_list, wait_for)

MSG = (b"From: Alice <alice@a.ptest>\r\n"
       b"To: Bob <bob@b.ptest>\r\n"
       b"Subject: issue 9\r\n"
       b"\r\n"
       b"Hello.\r\n"
       b".a line that starts with a dot\r\n")

RECORDS = [
    "mx-host=a.ptest,mx.a.ptest,10",
    "host-record=mx.a.ptest,127.0.0.2",
    "mx-host=b.ptest,mx.b.ptest,10",
    "host-record=mx.b.ptest,127.0.0.3",
    "mx-host=plain.ptest,mx.plain.ptest,10",
    "host-record=mx.plain.ptest,127.0.0.4",
    # A U-label domain hosted at B: in DNS as its A-label.
    "mx-host=xn--bcher-kva.ptest,mx.b.ptest,10",
]


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    d = DNS(tmp_path_factory.mktemp("zone9"), RECORDS)
    yield d
    d.stop()


class Plain:
    """aiosmtpd on C_IP at the common port: a next hop with 8BITMIME and
    PIPELINING only."""

    def __init__(self, port):
        from aiosmtpd.controller import Controller
        self.received = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.received.append({
                    "mail_from": envelope.mail_from,
                    "mail_options": list(envelope.mail_options),
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "rcpt_options": list(envelope.rcpt_options),
                    "content": envelope.original_content,
                })
                return "250 2.0.0 OK"

        # Controller turns SMTPUTF8 on by default: this hop lacks it.
        self.controller = Controller(Handler(), hostname=C_IP, port=port,
                                     enable_SMTPUTF8=False)
        self.controller.start()

    def stop(self):
        self.controller.stop()


@pytest.fixture
def net(petrel_factory, zone):
    pytest.importorskip("aiosmtpd")
    n = Net(petrel_factory, zone)
    n.plain = Plain(n.port)
    yield n
    n.plain.stop()


def a_debug(net):
    return net.a(extra={"log_level": "debug"})


def send(p, sender, rcpts, msg, mail_options=(), rcpt_options=()):
    with smtplib.SMTP(p.host, p.port, source_address=("127.0.0.1", 0),
                      timeout=30) as s:
        s.ehlo("client.a.ptest")
        refused = s.sendmail(sender, rcpts, msg, mail_options=mail_options,
                             rcpt_options=rcpt_options)
        assert refused == {}


def report(raw_msg):
    """(message, parts, status part, per-message block, per-recipient
    blocks) of an RFC 3464 / RFC 6533 report."""
    m = email.message_from_bytes(strip_return_path(raw_msg))
    assert m.get_content_type() == "multipart/report", raw_msg[:600]
    parts = m.get_payload()
    status = [p for p in parts if p.get_content_type() in (
        "message/delivery-status", "message/global-delivery-status")][0]
    if status.get_content_type() == "message/delivery-status":
        blocks = status.get_payload()
        return m, parts, status, blocks[0], blocks[1:]
    # Python's email knows no global-delivery-status: the blocks by hand.
    text = status.get_payload()
    if isinstance(text, list):
        inner = text[0]
        text = "".join(f"{k}: {v}\n" for k, v in inner.items()) + "\n" + \
            inner.get_payload()
    blocks = [email.message_from_string(b) for b in
              re.split(r"\r?\n\r?\n", text.strip()) if b.strip()]
    return m, parts, status, blocks[0], blocks[1:]


def test_bdat_out_and_no_return_path_sent(net):
    b = net.b()
    a = a_debug(net)
    send(a, "alice@a.ptest", ["bob@b.ptest"], MSG)
    got = b.wait_mailbox("bob", 1, domain="b.ptest", timeout=15)
    assert len(got) == 1, a.log()[-3000:]
    # B offers CHUNKING: A sent one BDAT with the exact size, no DATA.
    size = len(body_of(got[0]))
    assert f"> BDAT {size} LAST" in a.log(), a.log()[-3000:]
    assert "> DATA" not in a.log()
    # One Return-Path, B's; A's stayed home; the rest byte for byte.
    assert got[0].startswith(b"Return-Path: <alice@a.ptest>\r\n")
    assert got[0].count(b"Return-Path:") == 1
    assert body_of(body_of(got[0])) == MSG
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)


def test_data_out_to_a_plain_hop_skips_return_path(net):
    a = a_debug(net)
    send(a, "alice@a.ptest", ["pat@plain.ptest"], MSG)
    assert wait_for(lambda: net.plain.received, 15), a.log()[-3000:]
    got = net.plain.received[0]
    assert "> DATA" in a.log() and "> BDAT" not in a.log()
    assert not got["content"].startswith(b"Return-Path")
    assert body_of(got["content"]) == MSG


def test_empty_data_relayed(net):
    b = net.b()
    a = net.a()
    c = Raw(a.port, host=a.host, source="127.0.0.1")
    greet(c)
    assert c.cmd(b"MAIL FROM:<alice@a.ptest>")[0] == 250
    assert c.cmd(b"RCPT TO:<bob@b.ptest>")[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    c.send(b".\r\n")
    assert c.reply()[0] == 250
    c.close()
    got = b.wait_mailbox("bob", 1, domain="b.ptest", timeout=15)
    assert len(got) == 1, a.log()[-3000:]
    # Only the trace fields: B's Return-Path and Received, then A's.
    assert body_of(body_of(got[0])) == b""


def test_smtputf8_relayed_to_a_hop_that_has_it(net):
    b = net.b()
    b.cli("user", "add", "jörg@b.ptest", input="secret\n")
    a = a_debug(net)
    send(a, "alice@a.ptest", ["jörg@b.ptest"],
         "Subject: grüße\r\n\r\nhallo\r\n".encode(),
         mail_options=["SMTPUTF8"])
    box = b.data_dir / "mail" / "b.ptest" / "j%C3%B6rg" / "new"
    assert wait_for(lambda: box.is_dir() and list(box.iterdir()), 15), \
        a.log()[-3000:]
    m = next(box.iterdir()).read_bytes()
    assert b" with UTF8SMTP" in m
    assert re.search(r"> MAIL FROM:<alice@a\.ptest>.* SMTPUTF8", a.log())


def test_u_label_domain_routed_by_its_a_label(net):
    b = net.petrel("b", B_IP, {"bücher.ptest": ["leser"]})
    a = net.a()
    send(a, "alice@a.ptest", ["leser@bücher.ptest"], MSG,
         mail_options=["SMTPUTF8"])
    got = b.wait_mailbox("leser", 1, domain="xn--bcher-kva.ptest",
                         timeout=15)
    assert len(got) == 1, a.log()[-3000:]


def test_smtputf8_needed_but_not_offered_bounces(net):
    """RFC 6531 §3.2: the UTF-8 recipient cannot go to a hop without
    SMTPUTF8 and bounces with 5.6.7; the ASCII one in the same message
    goes (nothing else about the message needs SMTPUTF8)."""
    a = net.a()
    send(a, "alice@a.ptest", ["jörg@plain.ptest", "pat@plain.ptest"],
         MSG, mail_options=["SMTPUTF8"])
    assert wait_for(lambda: net.plain.received, 15), a.log()[-3000:]
    got = net.plain.received[0]
    assert got["rcpt_tos"] == ["pat@plain.ptest"]
    assert "SMTPUTF8" not in got["mail_options"]
    dsn = a.wait_mailbox("alice", 1, domain="a.ptest", timeout=15)
    assert len(dsn) == 1, a.log()[-3000:]
    m, parts, status, per_msg, per_rcpt = report(dsn[0])
    assert len(per_rcpt) == 1
    blk = per_rcpt[0]
    assert blk["Action"] == "failed"
    assert blk["Status"] == "5.6.7"
    assert "SMTPUTF8 is required" in blk["Diagnostic-Code"]
    # RFC 6533: the report about a UTF-8 address is a global one.
    assert status.get_content_type() == "message/global-delivery-status"
    assert "utf-8;jörg@plain.ptest" in dsn[0].decode()
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)


def test_dsn_request_passed_on_to_a_dsn_hop(net):
    """B offers DSN: A passes NOTIFY/ORCPT/RET/ENVID on and sends no
    notice itself; B, delivering, sends the "delivered" one back."""
    b = net.b()
    a = a_debug(net)
    send(a, "alice@a.ptest", ["bob@b.ptest"], MSG,
         mail_options=["RET=HDRS", "ENVID=QQ314159"],
         rcpt_options=["NOTIFY=SUCCESS,FAILURE",
                       "ORCPT=rfc822;Bob+2Bx@b.ptest"])
    assert len(b.wait_mailbox("bob", 1, domain="b.ptest", timeout=15)) == 1
    log = a.log()
    assert re.search(r"> MAIL FROM:<alice@a\.ptest>.* RET=HDRS "
                     r"ENVID=QQ314159", log), log[-3000:]
    assert re.search(r"> RCPT TO:<bob@b\.ptest> NOTIFY=SUCCESS,FAILURE "
                     r"ORCPT=rfc822;Bob\+2Bx@b\.ptest", log), log[-3000:]
    notes = a.wait_mailbox("alice", 1, domain="a.ptest", timeout=20)
    assert len(notes) == 1, (a.log()[-2000:], b.log()[-2000:])
    m, parts, status, per_msg, per_rcpt = report(notes[0])
    assert "mx.b.ptest" in per_msg["Reporting-MTA"]
    assert per_msg["Original-Envelope-Id"] == "QQ314159"
    assert per_rcpt[0]["Action"] == "delivered"
    assert per_rcpt[0]["Original-Recipient"] == "rfc822;Bob+x@b.ptest"
    # A sent none of its own: once its copy has left the queue (any
    # notice of A's is committed before that), still only B's is there.
    assert wait_for(lambda: queue_empty(a), 10), queue_list(a)
    assert len(a.mailbox("alice", domain="a.ptest")) == 1


def test_relayed_notice_for_a_hop_without_dsn(net):
    a = net.a()
    send(a, "alice@a.ptest", ["pat@plain.ptest"], MSG,
         mail_options=["ENVID=E-1"], rcpt_options=["NOTIFY=SUCCESS"])
    assert wait_for(lambda: net.plain.received, 15)
    # aiosmtpd offers no DSN: nothing of it was passed on.
    assert net.plain.received[0]["rcpt_options"] == []
    notes = a.wait_mailbox("alice", 1, domain="a.ptest", timeout=15)
    assert len(notes) == 1, a.log()[-3000:]
    m, parts, status, per_msg, per_rcpt = report(notes[0])
    assert m["Subject"] == "Successful Mail Delivery Report"
    assert per_msg["Original-Envelope-Id"] == "E-1"
    assert per_rcpt[0]["Action"] == "relayed"
    assert per_rcpt[0]["Status"].startswith("2.")
    assert "250" in per_rcpt[0]["Diagnostic-Code"]


def bdat_binary(p, rcpt, data):
    c = Raw(p.port, host=p.host, source="127.0.0.1")
    greet(c)
    assert c.cmd(b"MAIL FROM:<alice@a.ptest> BODY=BINARYMIME")[0] == 250
    assert c.cmd(b"RCPT TO:<" + rcpt + b">")[0] == 250
    c.send(b"BDAT %d LAST\r\n" % len(data) + data)
    code, lines = c.reply()
    c.close()
    assert code == 250, lines


BINARY = (b"Subject: binary\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: application/octet-stream\r\n"
          b"Content-Transfer-Encoding: binary\r\n\r\n"
          b"\x00\x01\xff\r\n.\r\n\n\rno line end")


def test_binarymime_goes_only_by_bdat_to_binarymime(net):
    b = net.b()
    a = a_debug(net)
    bdat_binary(a, b"bob@b.ptest", BINARY)
    got = b.wait_mailbox("bob", 1, domain="b.ptest", timeout=15)
    assert len(got) == 1, a.log()[-3000:]
    assert body_of(body_of(got[0])) == BINARY
    assert "BODY=BINARYMIME" in a.log()
    # To the plain hop it cannot go: 5.6.3, and no conversion.
    bdat_binary(a, b"pat@plain.ptest", BINARY)
    dsn = a.wait_mailbox("alice", 1, domain="a.ptest", timeout=15)
    assert len(dsn) == 1, a.log()[-3000:]
    m, parts, status, per_msg, per_rcpt = report(dsn[0])
    assert per_rcpt[0]["Status"] == "5.6.3"
    assert net.plain.received == []


def test_host_not_found_logged_once(net):
    a = net.a()
    send(a, "alice@a.ptest", ["x@nowhere.ptest"], MSG)
    assert wait_for(lambda: "Host not found" in a.log(), 15), a.log()
    assert "nowhere.ptest: Host not found" in a.log()
    assert "nowhere.ptest: nowhere.ptest:" not in a.log()
