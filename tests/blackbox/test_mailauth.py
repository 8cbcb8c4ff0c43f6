"""Mail authentication end to end (issue #11): two petrels on 127.0.0.2
(a.ptest, the sender's server, with DKIM keys) and 127.0.0.3 (b.ptest,
the receiver, which checks), a real dnsmasq serving the MX, A and PTR
records and the SPF, DKIM and DMARC TXT records that `petrel dns-records`
prints, and raw clients on 127.0.0.4 playing forgers.

A delivers from 127.0.0.1 (the kernel's source address for loopback), so
a.ptest's SPF names that address and its reverse DNS is out.a.ptest.
B trusts no client (relay_networks matches none of them), so every
message it gets is checked."""

import os
import smtplib
import socket
import ssl
import subprocess
import time

import dkim
import pytest

from conftest import (DNS, BIN, SANITIZER_ENV, free_port, published_records,
                      txt_lookup_for)

A_IP, B_IP, EVIL_IP = "127.0.0.2", "127.0.0.3", "127.0.0.4"

MSG = (b"From: Alice <alice@a.ptest>\r\n"
       b"To: Bob <bob@b.ptest>\r\n"
       b"Subject: signed at the source\r\n"
       b"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
       b"Message-ID: <m1@a.ptest>\r\n"
       b"\r\n"
       b"Hello Bob,  this is Alice.\r\n")


def common_port():
    for _ in range(50):
        port = free_port(A_IP)
        try:
            with socket.socket() as s:
                s.bind((B_IP, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no common free port")


class World:
    """The zone, A (keys made, records published) and B."""

    def __init__(self, factory, tmp_path, silent_port):
        self.factory = factory
        self.port = common_port()
        self.silent_port = silent_port
        self.a = self.petrel("a", A_IP, "a.ptest", ["alice"])
        self.a.cli("dkim", "keygen", "a.ptest", "r1")
        self.a.cli("dkim", "keygen", "--ed25519", "a.ptest", "e1")
        records = [
            "mx-host=a.ptest,mx.a.ptest,10",
            "host-record=mx.a.ptest,127.0.0.2",
            "mx-host=b.ptest,mx.b.ptest,10",
            "host-record=mx.b.ptest,127.0.0.3",
            # A's outgoing connections come from 127.0.0.1.
            "host-record=out.a.ptest,127.0.0.1",
            # The forger's address: a PTR that does not lead back.
            "ptr-record=4.0.0.127.in-addr.arpa,mx.a.ptest",
            # A typical record: an include, the MX hosts, a named host.
            "txt-record=a.ptest,"
            "\"v=spf1 include:_spf.a.ptest mx a:out.a.ptest -all\"",
            "txt-record=_spf.a.ptest,\"v=spf1 ip4:192.0.2.0/24 ~all\"",
            "txt-record=_dmarc.a.ptest,\"v=DMARC1; p=reject\"",
            "txt-record=evil.ptest,\"v=spf1 ip4:127.0.0.4 -all\"",
            "txt-record=nodmarc.ptest,\"v=spf1 ip4:127.0.0.9 -all\"",
            # Look-ups under slow.ptest go to a server that never answers.
            f"server=/slow.ptest/127.0.0.1#{silent_port}",
        ]
        # The DKIM keys as `petrel dns-records` prints them.
        records += [r for r in published_records(self.a, "a.ptest")
                    if "_domainkey" in r]
        self.zone = DNS(tmp_path, records)
        self.a.settings["dns_servers"] = self.zone.server
        self.a.write_conf()
        self.a.start()
        self.b = None

    def petrel(self, name, ip, domain, users, extra=None):
        settings = {
            "hostname": f"mx.{name}.ptest",
            "smtp_listen": f"{ip}:{self.port}",
            "outbound_port": str(self.port),
            "relay_networks": "127.0.0.99/32",
            "retry_intervals": "1s",
            "mailauth_dns_timeout": "2s",
        }
        settings.update(extra or {})
        p = self.factory(name, host=ip, extra=settings, users=(), start=False,
                         dns_server=getattr(self, "zone", None) and
                         self.zone.server)
        p.port = self.port
        p.cli("domain", "add", domain)
        for u in users:
            p.cli("user", "add", f"{u}@{domain}", input="secret\n")
        return p

    def start_b(self, **policy):
        self.b = self.petrel("b", B_IP, "b.ptest", ["bob"], extra=policy)
        self.b.start()
        return self.b

    def stop(self):
        self.zone.stop()


@pytest.fixture
def silent():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield s.getsockname()[1]
    s.close()


@pytest.fixture
def world(petrel_factory, tmp_path, silent):
    (tmp_path / "zone").mkdir()
    w = World(petrel_factory, tmp_path / "zone", silent)
    yield w
    w.stop()


def header(msg, name):
    """Every field called name (unfolded), in order."""
    head = msg.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
    fields, cur = [], None
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            cur += " " + line.strip()
            continue
        if cur is not None:
            fields.append(cur)
        cur = line
    if cur is not None:
        fields.append(cur)
    pre = name.lower() + ":"
    return [f[len(pre):].strip() for f in fields if f.lower().startswith(pre)]


def send_raw(ip, port, sender, rcpt, msg, helo="evil.ptest"):
    """One transaction from ip; returns the reply to the final dot."""
    with smtplib.SMTP(ip if ip != EVIL_IP else B_IP, port,
                      source_address=(EVIL_IP, 0), timeout=30) as s:
        s.ehlo(helo)
        code, resp = s.mail(sender)
        assert code == 250, resp
        code, resp = s.rcpt(rcpt)
        assert code == 250, resp
        code, resp = s.docmd("DATA")
        assert code == 354, resp
        s.send(msg.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        return s.getreply()


def test_signed_mail_verifies_at_the_other_end(world):
    b = world.start_b(spf_policy="enforce", dmarc_policy="enforce")
    a = world.a
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP(A_IP, a.submission_port, timeout=30) as s:
        s.ehlo("laptop.a.ptest")
        s.starttls(context=ctx)
        s.ehlo("laptop.a.ptest")
        s.login("alice@a.ptest", "secret")
        s.sendmail("alice@a.ptest", ["bob@b.ptest"], MSG)
    # ... and one from the pickup folder, via `petrel sendmail`.
    r = subprocess.run([BIN, "-c", str(a.conf), "sendmail", "-f",
                        "alice@a.ptest", "bob@b.ptest"],
                       input=MSG.replace(b"m1@", b"m2@"), capture_output=True,
                       timeout=30, env={**os.environ,
                                        **SANITIZER_ENV})
    assert r.returncode == 0, r.stderr
    msgs = b.wait_mailbox("bob", 2, domain="b.ptest", timeout=30)
    assert len(msgs) == 2, b.log()[-3000:]
    for msg in msgs:
        ars = header(msg, "Authentication-Results")
        assert len(ars) == 1, ars
        ar = ars[0]
        assert ar.startswith("mx.b.ptest;"), ar
        assert "iprev=pass reason=out.a.ptest policy.iprev=127.0.0.1" in ar
        assert "spf=pass smtp.mailfrom=alice@a.ptest" in ar
        assert "spf=none smtp.helo=mx.a.ptest" in ar
        assert ar.count("dkim=pass header.d=a.ptest") == 2, ar
        assert "header.a=rsa-sha256" in ar and "header.a=ed25519-sha256" in ar
        assert "dmarc=pass header.from=a.ptest" in ar
        # A-R on top, then B's Received line: HELO, verified name, IP.
        assert msg.startswith(b"Return-Path: <alice@a.ptest>\r\n"
                              b"Authentication-Results: mx.b.ptest;")
        rcvd = header(msg, "Received")[0]
        assert rcvd.startswith("from mx.a.ptest (out.a.ptest [127.0.0.1])")
        assert "by mx.b.ptest (petrel)" in rcvd
        # The signatures were made once, at A, and verify with dkimpy.
        assert len(header(msg, "DKIM-Signature")) == 2
        for idx in (0, 1):
            assert dkim.DKIM(msg).verify(idx=idx,
                                         dnsfunc=txt_lookup_for(
                                             world.zone.server)), idx
    assert a.log().count("dkim-signed d=a.ptest (2 signatures)") == 2
    # The look-ups each SPF check made are logged: for a.ptest's record
    # the TXT of a.ptest and of _spf.a.ptest, the MX, the MX host's A
    # and out.a.ptest's A; three of its terms count towards the limit
    # of 10 (include, mx, a).
    assert b.log().count("spf=pass (queries=5 lookups=3)") == 2
    # A's HELO is its host name, not the name its address resolves to.
    assert b.log().count("iprev=pass (out.a.ptest) helo=differs-from-rdns") \
        == 2


FORGED = (b"From: The CEO <ceo@a.ptest>\r\n"
          b"To: bob@b.ptest\r\n"
          b"Subject: wire the money\r\n"
          b"\r\n"
          b"Now.\r\n")


def test_forged_from_refused_under_enforce(world):
    b = world.start_b(dmarc_policy="enforce")
    code, resp = send_raw(EVIL_IP, world.port, "x@evil.ptest",
                          "bob@b.ptest", FORGED)
    assert code == 550 and resp.startswith(b"5.7.1 DMARC"), resp
    assert b"a.ptest" in resp
    assert b.mailbox("bob", "b.ptest") == []
    assert "reject: 550 5.7.1 DMARC" in b.log()


def test_forged_from_marked_under_none(world):
    b = world.start_b()  # both policies none
    code, resp = send_raw(EVIL_IP, world.port, "x@evil.ptest",
                          "bob@b.ptest", FORGED)
    assert code == 250, resp
    msg = b.wait_mailbox("bob", 1, domain="b.ptest")[0]
    ar = header(msg, "Authentication-Results")[0]
    assert "spf=pass smtp.mailfrom=x@evil.ptest" in ar
    assert "dkim=none" in ar
    assert "dmarc=fail" in ar and "p=reject" in ar
    assert "header.from=a.ptest" in ar
    # The forger's PTR names mx.a.ptest, which does not lead back.
    assert "iprev=fail policy.iprev=127.0.0.4" in ar
    rcvd = header(msg, "Received")[0]
    assert rcvd.startswith("from evil.ptest (unknown [127.0.0.4])"), rcvd
    assert "iprev=fail helo=unverified" in b.log()


NODMARC = (b"From: someone@nodmarc.ptest\r\n"
           b"To: bob@b.ptest\r\n"
           b"Subject: spf only\r\n"
           b"\r\n"
           b"x\r\n")


def test_spf_fail_refused_under_enforce(world):
    b = world.start_b(spf_policy="enforce")
    code, resp = send_raw(EVIL_IP, world.port, "x@nodmarc.ptest",
                          "bob@b.ptest", NODMARC)
    assert code == 550 and resp.startswith(b"5.7.23 SPF"), resp
    assert b"127.0.0.4 is not allowed to send for x@nodmarc.ptest" in resp
    # The same under spf_policy=none: accepted, and the header says so.
    b.stop()
    b.settings["spf_policy"] = "none"
    b.write_conf()
    b.start()
    code, resp = send_raw(EVIL_IP, world.port, "x@nodmarc.ptest",
                          "bob@b.ptest", NODMARC)
    assert code == 250, resp
    msg = b.wait_mailbox("bob", 1, domain="b.ptest")[0]
    ar = header(msg, "Authentication-Results")[0]
    assert "spf=fail smtp.mailfrom=x@nodmarc.ptest" in ar
    assert "dmarc=none header.from=nodmarc.ptest" in ar  # no policy


def test_spf_fail_with_aligned_dkim_passes(world):
    """Forwarded mail: SPF fails at the forwarder's address, but A's
    DKIM signature survives and aligns, so DMARC passes and even
    spf_policy=enforce accepts it."""
    signed = subprocess.run(
        [BIN, "-c", str(world.a.conf), "dkim", "sign", "a.ptest"],
        input=MSG, capture_output=True, timeout=30,
        env={**os.environ, **SANITIZER_ENV})
    assert signed.returncode == 0, signed.stderr
    b = world.start_b(spf_policy="enforce", dmarc_policy="enforce")
    code, resp = send_raw(EVIL_IP, world.port, "alice@a.ptest",
                          "bob@b.ptest", signed.stdout,
                          helo="forwarder.example")
    assert code == 250, resp
    ar = header(b.wait_mailbox("bob", 1, domain="b.ptest")[0],
                "Authentication-Results")[0]
    assert "spf=fail" in ar and "dmarc=pass" in ar


def test_dns_timeout_is_451(world):
    b = world.start_b(spf_policy="enforce")
    msg = NODMARC.replace(b"nodmarc.ptest", b"slow.ptest")
    t0 = time.time()
    code, resp = send_raw(EVIL_IP, world.port, "x@slow.ptest",
                          "bob@b.ptest", msg)
    assert code == 451 and resp.startswith(b"4.7.24 SPF: temporary"), resp
    assert time.time() - t0 < 15
    assert b.mailbox("bob", "b.ptest") == []
    # Under none the message is taken, with the failure in its header
    # (never a silent pass).
    b.stop()
    b.settings["spf_policy"] = "none"
    b.write_conf()
    b.start()
    code, resp = send_raw(EVIL_IP, world.port, "x@slow.ptest",
                          "bob@b.ptest", msg)
    assert code == 250, resp
    ar = header(b.wait_mailbox("bob", 1, domain="b.ptest")[0],
                "Authentication-Results")[0]
    assert "spf=temperror" in ar


def test_helo_literal_compared(world):
    b = world.start_b()
    for helo, want in (("[127.0.0.4]", "literal-matches-ip"),
                       ("[127.0.0.7]", "literal-differs")):
        code, resp = send_raw(EVIL_IP, world.port, "x@evil.ptest",
                              "bob@b.ptest", NODMARC, helo=helo)
        assert code == 250, resp
        assert f"helo={want}" in b.log()
    rcvd = header(b.wait_mailbox("bob", 2, domain="b.ptest")[1],
                  "Received")[0]
    assert rcvd.startswith("from [127.0.0.7] (unknown [127.0.0.4])"), rcvd


def test_incoming_claim_of_our_name_removed(world):
    b = world.start_b()
    msg = (b"Authentication-Results: mx.b.ptest; dkim=pass; dmarc=pass\r\n"
           b"Authentication-Results: other.example.net; spf=pass\r\n"
           b"authentication-results:\r\n MX.B.PTEST ; spf=pass\r\n"
           + NODMARC)
    code, resp = send_raw(EVIL_IP, world.port, "x@evil.ptest",
                          "bob@b.ptest", msg)
    assert code == 250, resp
    stored = b.wait_mailbox("bob", 1, domain="b.ptest")[0]
    ars = header(stored, "Authentication-Results")
    assert len(ars) == 2, ars
    assert ars[0].startswith("mx.b.ptest;") and "dkim=none" in ars[0]
    assert ars[1] == "other.example.net; spf=pass"
    assert "removed 2 Authentication-Results field(s) claiming mx.b.ptest" \
        in b.log()


def test_header_section_over_limit_refused(world):
    """A header section past 256 KiB could hide a forged claim of our
    name from the filter: refused, and nothing stored."""
    b = world.start_b()
    pad = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 990) for i in range(270))
    code, resp = send_raw(EVIL_IP, world.port, "x@evil.ptest",
                          "bob@b.ptest", pad + NODMARC)
    assert code == 552 and resp.startswith(b"5.3.4"), resp
    assert b.mailbox("bob", "b.ptest") == []
