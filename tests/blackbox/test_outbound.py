"""Outbound delivery end to end (issue #4): several petrel instances on
127.0.0.2, 127.0.0.3, 127.0.0.4 ... that find each other through a real
dnsmasq serving MX, A and CNAME records, plus Python's aiosmtpd as an
authenticating STARTTLS smarthost on 127.0.0.5.

outbound_port is global (the port used for every MX host), so every
instance of a test listens on the same port P on its own address."""

import email
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import (BIN, DNS, Raw, body_of, free_port, greet, queue_id,
                      raw_send, strip_return_path)

A_IP = "127.0.0.2"      # the sender's server: hosts a.ptest
B_IP = "127.0.0.3"      # the recipients' server: b.ptest, implicit.ptest
C_IP = "127.0.0.4"      # another receiver: two.ptest, cname.ptest, ...
SMART_IP = "127.0.0.5"  # aiosmtpd smarthost
DEAD_IP = "127.0.0.6"   # nothing ever listens here

RECORDS = [
    "mx-host=a.ptest,mx.a.ptest,10",
    "host-record=mx.a.ptest,127.0.0.2",
    "mx-host=b.ptest,mx.b.ptest,10",
    "host-record=mx.b.ptest,127.0.0.3",
    # Two MX records; the preferred host's address has nothing listening.
    "mx-host=two.ptest,mx1.two.ptest,10",
    "mx-host=two.ptest,mx2.two.ptest,20",
    "host-record=mx1.two.ptest,127.0.0.6",
    "host-record=mx2.two.ptest,127.0.0.4",
    # No MX at all: the domain's own A record (implicit MX).
    "host-record=implicit.ptest,127.0.0.3",
    # The mail domain itself is a CNAME (to a host with an A record).
    "host-record=host.c.ptest,127.0.0.4",
    "cname=cname.ptest,host.c.ptest",
    # The MX target is a CNAME.
    "mx-host=mxcname.ptest,mxalias.ptest,10",
    "cname=mxalias.ptest,host.c.ptest",
    # RFC 7505 null MX: this domain accepts no mail.
    "mx-host=null.ptest,.,0",
    # Everything else under .ptest is NXDOMAIN (local=/ptest/ in DNS.BASE).
]

MSG = (b"From: Alice <alice@a.ptest>\r\n"
       b"To: Bob <bob@b.ptest>\r\n"
       b"Subject: across the wire\r\n"
       b"Message-ID: <x1@a.ptest>\r\n"
       b"\r\n"
       b"Hello Bob.\r\n"
       b"..a line that starts with a dot\r\n"
       b"8bit: caf\xc3\xa9\r\n")


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    d = DNS(tmp_path_factory.mktemp("zone"), RECORDS)
    yield d
    d.stop()


def common_port():
    """A port free on every test address (bounded tries)."""
    for _ in range(50):
        port = free_port(A_IP)
        ok = True
        for ip in (B_IP, C_IP, SMART_IP, DEAD_IP):
            with socket.socket() as s:
                try:
                    s.bind((ip, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise RuntimeError("no common free port")


class Net:
    """Instances that all listen on one port P and resolve through zone."""

    def __init__(self, factory, zone):
        self.factory = factory
        self.zone = zone
        self.port = common_port()

    def petrel(self, name, ip, domains, extra=None, start=True):
        settings = {
            "hostname": f"mx.{name}.ptest",
            "smtp_listen": f"{ip}:{self.port}",
            "outbound_port": str(self.port),
            "dns_servers": self.zone.server,
            "retry_intervals": "1s",
            "queue_lifetime": "1h",
        }
        settings.update(extra or {})
        p = self.factory(name, host=ip, extra=settings, users=(), start=False)
        p.port = self.port
        for dom, users in domains.items():
            p.cli("domain", "add", dom)
            for u in users:
                p.cli("user", "add", f"{u}@{dom}", input="secret\n")
        if start:
            p.start()
        return p

    def a(self, extra=None, start=True):
        return self.petrel("a", A_IP, {"a.ptest": ["alice"]}, extra, start)

    def b(self, extra=None, start=True):
        return self.petrel("b", B_IP, {"b.ptest": ["bob", "carol"],
                                       "implicit.ptest": ["bob"]},
                           extra, start)


@pytest.fixture
def net(petrel_factory, zone):
    return Net(petrel_factory, zone)


def submit(p, sender, rcpts, msg):
    """One message to p from 127.0.0.1 (trusted); returns the queue id."""
    with smtplib.SMTP(p.host, p.port, source_address=("127.0.0.1", 0),
                      timeout=30) as s:
        s.ehlo("client.a.ptest")
        code, resp = s.mail(sender)
        assert code == 250, resp
        for r in rcpts:
            code, resp = s.rcpt(r)
            assert code == 250, (r, resp)
        code, resp = s.data(msg)
        assert code == 250, resp
        return queue_id(resp)


def wait_for(cond, timeout, step=0.05):
    """Poll cond() until it is true or timeout seconds pass."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def queue_list(p):
    return p.cli("queue", "list").stdout


def queue_empty(p):
    return "Mail queue is empty" in queue_list(p)


def received_fields(msg: bytes):
    """The Received: fields on top of a message, unfolded, in order
    (below the Return-Path: of the final delivery)."""
    out = []
    msg = strip_return_path(msg)
    while msg.startswith(b"Received:"):
        rest = body_of(msg)
        out.append(msg[:len(msg) - len(rest)].decode(errors="replace"))
        msg = rest
    return out


def parse_dsn(raw: bytes):
    """(message, per-message block, per-recipient blocks, headers part)
    of an RFC 3464 DSN, checking its structure on the way."""
    m = email.message_from_bytes(raw)
    assert m.get_content_type() == "multipart/report", raw[:600]
    assert (m.get_param("report-type") or "").lower() == "delivery-status"
    parts = m.get_payload()
    types = [p.get_content_type() for p in parts]
    assert "message/delivery-status" in types, types
    ds = parts[types.index("message/delivery-status")]
    blocks = ds.get_payload()
    assert len(blocks) >= 2, blocks
    hdrs = None
    for p in parts:
        if p.get_content_type() in ("text/rfc822-headers", "message/rfc822"):
            hdrs = p
    return m, blocks[0], blocks[1:], hdrs


def rcpt_block(per_rcpt, address):
    for b in per_rcpt:
        if address in (b.get("Final-Recipient") or ""):
            return b
    raise AssertionError(f"no DSN block for {address}: "
                         f"{[str(b) for b in per_rcpt]}")


def wait_dsn(a, timeout=15):
    msgs = a.wait_mailbox("alice", 1, domain="a.ptest", timeout=timeout)
    assert len(msgs) == 1, (msgs, a.log()[-3000:], queue_list(a))
    return msgs[0]


# --- delivery by MX ---------------------------------------------------------

def test_mx_delivery_byte_exact_with_both_received_lines(net):
    b = net.b()
    a = net.a()
    submit(a, "alice@a.ptest", ["bob@b.ptest"], MSG)
    msgs = b.wait_mailbox("bob", 1, domain="b.ptest", timeout=15)
    assert len(msgs) == 1, a.log()[-3000:]
    got = msgs[0]
    recv = received_fields(got)
    assert len(recv) == 2, recv
    # B's line on top: from A (its EHLO name) by B; then A's own line.
    assert "by mx.b.ptest" in recv[0] and "from mx.a.ptest" in recv[0], recv
    assert "by mx.a.ptest" in recv[1], recv
    # Below the two trace lines, byte for byte what was submitted.
    assert body_of(body_of(got)) == MSG
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)
    assert re.search(r"to=<bob@b\.ptest>, status=sent", a.log()), a.log()


def test_destination_down_defers_retries_then_delivers(net):
    b = net.b(start=False)
    a = net.a(extra={"retry_intervals": "1s"})
    qid = submit(a, "alice@a.ptest", ["bob@b.ptest"], MSG)

    def deferred():
        out = queue_list(a)
        return qid in out and re.search(
            r"<bob@b\.ptest> \(.*Connection refused", out)
    assert wait_for(deferred, 5), queue_list(a)
    # Retried on schedule (every second), not just once.
    assert wait_for(lambda: a.log().count(
        "to=<bob@b.ptest>, status=deferred") >= 3, 6), a.log()
    b.start()
    msgs = b.wait_mailbox("bob", 1, domain="b.ptest", timeout=10)
    assert len(msgs) == 1, a.log()[-3000:]
    assert body_of(body_of(msgs[0])) == MSG
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)


@pytest.mark.parametrize("domain,ip,what", [
    ("two.ptest", C_IP, "lower-preference MX when the first is down"),
    ("implicit.ptest", B_IP, "implicit MX: A record, no MX"),
    ("cname.ptest", C_IP, "the domain is a CNAME"),
    ("mxcname.ptest", C_IP, "the MX target is a CNAME"),
])
def test_routing_variants(net, domain, ip, what):
    t = net.petrel("t", ip, {domain: ["dave"]})
    a = net.a()
    submit(a, "alice@a.ptest", [f"dave@{domain}"], MSG)
    msgs = t.wait_mailbox("dave", 1, domain=domain, timeout=15)
    assert len(msgs) == 1, (what, a.log()[-3000:])
    assert body_of(body_of(msgs[0])) == MSG
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)
    if domain == "two.ptest":
        # The preferred MX was tried first and refused.
        assert re.search(r"mx1\.two\.ptest\[127\.0\.0\.6\].*refused",
                         a.log()), a.log()


@pytest.mark.parametrize("rcpt", ["x@null.ptest", "x@nx.ptest"])
def test_null_mx_and_nxdomain_bounce_at_once(net, rcpt):
    a = net.a(extra={"retry_intervals": "1h"})
    t0 = time.time()
    submit(a, "alice@a.ptest", [rcpt], MSG)
    dsn = wait_dsn(a, timeout=10)
    assert time.time() - t0 < 10
    m, _, per_rcpt, hdrs = parse_dsn(dsn)
    blk = rcpt_block(per_rcpt, rcpt)
    assert blk["Action"].strip() == "failed"
    assert re.fullmatch(r"5\.\d{1,3}\.\d{1,3}", blk["Status"].strip())
    assert rcpt in dsn.decode(errors="replace")
    # Permanent: never deferred first.
    assert f"to=<{rcpt}>, status=deferred" not in a.log()
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)


def test_refused_recipient_bounces_others_delivered(net):
    b = net.b()
    a = net.a()
    submit(a, "alice@a.ptest",
           ["bob@b.ptest", "nobody@b.ptest", "carol@b.ptest"], MSG)
    assert len(b.wait_mailbox("bob", 1, domain="b.ptest")) == 1
    assert len(b.wait_mailbox("carol", 1, domain="b.ptest")) == 1
    dsn = wait_dsn(a)
    m, per_msg, per_rcpt, hdrs = parse_dsn(dsn)
    assert m["From"] and "alice@a.ptest" in (m["To"] or ""), dsn[:800]
    assert len(per_rcpt) == 1, [str(x) for x in per_rcpt]
    blk = rcpt_block(per_rcpt, "nobody@b.ptest")
    assert blk["Final-Recipient"].replace(" ", "").lower() == \
        "rfc822;nobody@b.ptest"
    assert blk["Action"].strip() == "failed"
    assert blk["Status"].strip() == "5.1.1"
    # The original header section is included.
    assert hdrs is not None
    text = hdrs.as_string() if hdrs.is_multipart() else hdrs.get_payload()
    assert "Subject: across the wire" in text
    assert "Message-ID: <x1@a.ptest>" in text
    # The bounce comes from <> (never bounce a bounce).
    assert re.search(r"from=<>", a.log()) or "non-delivery" in a.log()
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)


def test_expiry_bounces_after_queue_lifetime(net):
    net.b(start=False)
    a = net.a(extra={"retry_intervals": "1s", "queue_lifetime": "4s"})
    t0 = time.time()
    submit(a, "alice@a.ptest", ["bob@b.ptest"], MSG)
    dsn = wait_dsn(a, timeout=15)
    elapsed = time.time() - t0
    assert elapsed >= 3.0, elapsed  # not before the lifetime (1 s ticks)
    _, _, per_rcpt, _ = parse_dsn(dsn)
    blk = rcpt_block(per_rcpt, "bob@b.ptest")
    assert blk["Action"].strip() == "failed"
    assert re.fullmatch(r"4\.4\.7|5\.\d{1,3}\.\d{1,3}", blk["Status"].strip())
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)


# --- badmail ------------------------------------------------------------------

def badmail(p, qid, timeout=15):
    d = p.data_dir / "badmail"
    ok = wait_for(lambda: (d / qid).exists() and (d / f"{qid}.reason").exists()
                  and (d / f"{qid}.reason").stat().st_size > 0, timeout)
    assert ok, (sorted(os.listdir(d)), p.log()[-3000:])
    return (d / qid).read_bytes(), (d / f"{qid}.reason").read_text()


def test_bounce_of_null_sender_goes_to_badmail(net):
    net.b()
    a = net.a()
    c = greet(Raw(a.port, host=a.host, source="127.0.0.1"))
    try:
        code, lines = raw_send(c, b"", [b"nobody@b.ptest"],
                               b"Subject: a bounce\r\n\r\nbody\r\n")
        assert code == 250, lines
        qid = queue_id(lines[0])
    finally:
        c.close()
    msg, reason = badmail(a, qid)
    assert msg.endswith(b"Subject: a bounce\r\n\r\nbody\r\n")
    assert "nobody@b.ptest" in reason and ("550" in reason or
                                           "5.1.1" in reason), reason
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)
    assert a.mailbox("alice", "a.ptest") == []


def test_bounce_to_unknown_local_sender_goes_to_badmail(net):
    net.b()
    a = net.a()
    qid = submit(a, "ghost@a.ptest", ["nobody@b.ptest"], MSG)
    msg, reason = badmail(a, qid)
    assert msg.endswith(MSG)
    assert "ghost@a.ptest" in reason, reason
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)
    assert a.mailbox("alice", "a.ptest") == []


# --- many messages, few connections -----------------------------------------

N_MANY = 200
PER_DEST = 4


def test_relay_200_messages_few_connections(net):
    b = net.b(extra={"log_level": "debug"})
    mark = len(b.log())  # the start-up probe connection is before this
    a = net.a(extra={"outbound_connections_per_destination": str(PER_DEST)})
    errors = []

    def sender(k, n):
        try:
            with smtplib.SMTP(a.host, a.port, timeout=30,
                              source_address=("127.0.0.1", 0)) as s:
                for i in range(k, N_MANY, n):
                    rcpt = "bob@b.ptest" if i % 2 == 0 else "carol@b.ptest"
                    msg = (f"From: alice@a.ptest\r\nTo: {rcpt}\r\n"
                           f"Subject: many {i}\r\n\r\nmessage {i}\r\n"
                           ).encode()
                    s.sendmail("alice@a.ptest", [rcpt], msg)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    t0 = time.time()
    threads = [threading.Thread(target=sender, args=(k, 4)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors

    def arrived():
        return (len(b.mailbox("bob", "b.ptest")) +
                len(b.mailbox("carol", "b.ptest")))
    assert wait_for(lambda: arrived() >= N_MANY, 60, step=0.02), \
        (arrived(), a.log()[-3000:])
    t1 = time.time()
    rate = N_MANY / (t1 - t0)
    print(f"\nrelay A->B: {N_MANY} messages in {t1 - t0:.2f} s = "
          f"{rate:.0f} msg/s, submission included ({BIN})")

    subjects = set()
    for m in b.mailbox("bob", "b.ptest") + b.mailbox("carol", "b.ptest"):
        subjects.add(re.search(rb"Subject: many (\d+)", m).group(1))
    assert len(subjects) == N_MANY  # each exactly once
    assert arrived() == N_MANY
    # The promise: never more than PER_DEST connections at once to one
    # destination, and a handful in all (an idle connection is kept 2 s
    # for more mail, so a stall in submission may end one and open
    # another later).
    log = b.log()[mark:]
    live = peak = conns = 0
    for line in log.splitlines():
        if "connect from [" in line and "disconnect" not in line:
            conns += 1
            live += 1
            peak = max(peak, live)
        elif "disconnect from [" in line:
            live -= 1
    assert conns >= 1
    assert peak <= PER_DEST, f"{peak} connections at once (limit {PER_DEST})"
    assert conns <= 2 * PER_DEST, f"{conns} connections for {N_MANY} messages"
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)


# --- smarthost: aiosmtpd with STARTTLS and AUTH -----------------------------

SMART_USER = "relayuser"
SMART_PASS = "relay-pass-1"


class Smarthost:
    """aiosmtpd on SMART_IP with a self-signed certificate, requiring
    STARTTLS and AUTH; records every message it accepts."""

    def __init__(self, tmp_path):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "2",
             "-subj", "/CN=smarthost.ptest"],
            check=True, capture_output=True, timeout=60)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert), str(key))
        self.received = []
        self.auth_attempts = []
        self.logins = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.received.append({
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "content": envelope.original_content or
                    envelope.content,
                    "tls": session.ssl is not None,
                    "authenticated": session.authenticated,
                })
                return "250 2.0.0 OK"

        def authenticator(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword) and
                  data.login == SMART_USER.encode() and
                  data.password == SMART_PASS.encode())
            outer.auth_attempts.append((mechanism, ok))
            outer.logins.append(getattr(data, "login", None))
            return AuthResult(success=ok, handled=False)

        self.port = free_port(SMART_IP)
        self.controller = Controller(
            Handler(), hostname=SMART_IP, port=self.port,
            tls_context=ctx, require_starttls=True,
            auth_required=True, auth_require_tls=True,
            authenticator=authenticator)
        self.controller.start()

    def stop(self):
        self.controller.stop()


@pytest.fixture
def smarthost(tmp_path):
    pytest.importorskip("aiosmtpd")
    d = tmp_path / "smarthost"
    d.mkdir()
    s = Smarthost(d)
    yield s
    s.stop()


def smart_extra(smarthost, password=SMART_PASS):
    return {"smarthost": f"{SMART_IP}:{smarthost.port}",
            "smarthost_user": SMART_USER,
            "smarthost_password": password,
            "retry_intervals": "1s"}


def test_smarthost_starttls_and_auth(net, smarthost):
    a = net.a(extra=smart_extra(smarthost))
    submit(a, "alice@a.ptest", ["anyone@remote.ptest"], MSG)
    assert wait_for(lambda: smarthost.received, 15), a.log()[-3000:]
    got = smarthost.received[0]
    assert got["mail_from"] == "alice@a.ptest"
    assert got["rcpt_tos"] == ["anyone@remote.ptest"]
    assert got["tls"], "the session was not under TLS"
    assert got["authenticated"]
    assert smarthost.logins == [SMART_USER.encode()]
    assert [ok for _, ok in smarthost.auth_attempts] == [True]
    assert body_of(got["content"]) == MSG
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)
    assert len(smarthost.received) == 1


def test_smarthost_wrong_password_bounces(net, smarthost):
    a = net.a(extra=smart_extra(smarthost, password="wrong"))
    submit(a, "alice@a.ptest", ["anyone@remote.ptest"], MSG)
    # AUTH 535 is permanent in petrel's client: a DSN to the sender.
    dsn = wait_dsn(a, timeout=15)
    _, _, per_rcpt, _ = parse_dsn(dsn)
    blk = rcpt_block(per_rcpt, "anyone@remote.ptest")
    assert blk["Action"].strip() == "failed"
    assert blk["Status"].strip().startswith("5.")
    assert "535" in dsn.decode(errors="replace")
    assert smarthost.received == []
    assert smarthost.auth_attempts and \
        not any(ok for _, ok in smarthost.auth_attempts)
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)


def test_local_mail_never_goes_to_smarthost(net, smarthost):
    a = net.petrel("a", A_IP, {"a.ptest": ["alice", "erin"]},
                   extra=smart_extra(smarthost))
    submit(a, "alice@a.ptest", ["erin@a.ptest"], MSG)
    msgs = a.wait_mailbox("erin", 1, domain="a.ptest")
    assert len(msgs) == 1
    assert body_of(msgs[0]) == MSG
    time.sleep(1.5)  # a tick or more: nothing must leave meanwhile
    assert smarthost.received == []
    assert smarthost.auth_attempts == []
    assert queue_empty(a)


# --- the queue CLI on live queues --------------------------------------------

def deferred_id(a, rcpt, qid, timeout=5):
    def seen():
        out = queue_list(a)
        return qid in out and re.search(
            re.escape(f"<{rcpt}>") + r" \(.*(refused|Connection)", out)
    assert wait_for(seen, timeout), queue_list(a)


def test_queue_list_shows_deferred_recipient_with_reason(net):
    net.b(start=False)
    a = net.a(extra={"retry_intervals": "1h"})
    qid = submit(a, "alice@a.ptest", ["bob@b.ptest", "carol@b.ptest"], MSG)
    deferred_id(a, "bob@b.ptest", qid)
    out = queue_list(a)
    assert "<alice@a.ptest>" in out
    block = out[out.index(qid):]
    assert "<carol@b.ptest>" in block
    assert "Connection refused" in block, out
    show = a.cli("queue", "show", qid).stdout
    assert "pending" in show and "Connection refused" in show, show


def test_queue_flush_delivers_right_away(net):
    b = net.b(start=False)
    a = net.a(extra={"retry_intervals": "1h"})
    qid = submit(a, "alice@a.ptest", ["bob@b.ptest"], MSG)
    deferred_id(a, "bob@b.ptest", qid)
    b.start()
    time.sleep(1.5)
    assert b.mailbox("bob", "b.ptest") == []  # the next try is in 1 h
    r = a.cli("queue", "flush", qid, check=False)
    assert r.returncode == 0, r.stderr
    msgs = b.wait_mailbox("bob", 1, domain="b.ptest", timeout=8)
    assert len(msgs) == 1, a.log()[-3000:]
    assert body_of(body_of(msgs[0])) == MSG
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)


def test_queue_delete_live_message_is_never_delivered(net):
    b = net.b(start=False)
    a = net.a(extra={"retry_intervals": "1s"})
    gone = submit(a, "alice@a.ptest", ["bob@b.ptest"],
                  MSG.replace(b"across the wire", b"deleted one"))
    kept = submit(a, "alice@a.ptest", ["bob@b.ptest"],
                  MSG.replace(b"across the wire", b"kept one"))
    deferred_id(a, "bob@b.ptest", gone)
    deferred_id(a, "bob@b.ptest", kept)
    out = a.cli("queue", "delete", gone).stdout
    assert gone in out
    assert gone not in queue_list(a)
    a.proc.send_signal(signal.SIGUSR1)  # rescan now, not in 60 s
    time.sleep(0.5)
    b.start()
    # The kept one is retried (every second) and arrives ...
    msgs = b.wait_mailbox("bob", 1, domain="b.ptest", timeout=10)
    assert len(msgs) == 1, a.log()[-3000:]
    assert b"kept one" in msgs[0]
    # ... and the deleted one never does, over several more retry ticks.
    time.sleep(3)
    msgs = b.mailbox("bob", "b.ptest")
    assert len(msgs) == 1 and b"deleted one" not in msgs[0]
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)


def test_queue_bounce_sends_dsn(net):
    net.b(start=False)
    a = net.a(extra={"retry_intervals": "1h"})
    qid = submit(a, "alice@a.ptest", ["bob@b.ptest"], MSG)
    deferred_id(a, "bob@b.ptest", qid)
    r = a.cli("queue", "bounce", qid, check=False)
    assert r.returncode == 0, r.stderr
    dsn = wait_dsn(a, timeout=8)
    _, _, per_rcpt, hdrs = parse_dsn(dsn)
    blk = rcpt_block(per_rcpt, "bob@b.ptest")
    assert blk["Action"].strip() == "failed"
    assert blk["Status"].strip().startswith("5.")
    assert wait_for(lambda: queue_empty(a), 5), queue_list(a)
