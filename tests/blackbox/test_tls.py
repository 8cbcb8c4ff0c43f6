"""TLS (issue #5): STARTTLS on 25 and 587 (RFC 3207), implicit TLS on 465
(RFC 8314), the CVE-2011-0411 plaintext injection, protocol versions, the
certificate (self-signed on first start, explicit files, SIGHUP reload),
and the Received: field of mail that came over TLS."""
import os
import signal
import ssl
import stat
import subprocess

import pytest

from conftest import Raw, body_of
from tlsutil import (auth_plain, client_ctx, ehlo_lines, greeted,
                     local_send_ok, make_cert, peer_der, pem_der, starttls,
                     submit, tls_connect, wait_log, x509_text)


# --- STARTTLS and implicit TLS ---

def test_starttls_offered_not_required_on_25(petrel):
    c = Raw(petrel.port)
    assert c.reply()[0] == 220
    caps = ehlo_lines(c)
    assert b"STARTTLS" in caps
    # Before TLS no AUTH is offered (RFC 4954 §4: no password in clear).
    assert not any(x.startswith(b"AUTH") for x in caps)
    # Not required: plain mail is still accepted on port 25.
    code, lines = submit(c, "a@example.net", ["alice@example.org"])
    assert code == 250, lines
    c.close()
    msg = petrel.wait_mailbox("alice", 1)[0]
    assert b"with ESMTP id" in msg.split(b"\r\n\r\n")[0]


@pytest.mark.parametrize("which", ["port", "submission_port"])
def test_starttls_then_ehlo_again(petrel, which):
    port = getattr(petrel, which)
    c = Raw(port)
    assert c.reply()[0] == 220
    assert b"STARTTLS" in ehlo_lines(c)
    starttls(c)
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    # RFC 3207 §4.2: the session starts over; MAIL before EHLO is 503.
    code, lines = c.cmd(b"MAIL FROM:<alice@example.org>")
    assert code == 503, lines
    caps = ehlo_lines(c)
    assert b"STARTTLS" not in caps
    assert any(x.startswith(b"AUTH") and b"PLAIN" in x and b"LOGIN" in x
               for x in caps), caps
    # A second STARTTLS inside TLS is a bad sequence.
    code, lines = c.cmd(b"STARTTLS")
    assert code == 503, lines
    assert c.cmd(b"NOOP") == (250, [b"250 2.0.0 Ok"])
    c.close()
    local_send_ok(petrel)


def test_starttls_with_argument_501(petrel):
    c = greeted(petrel.port)
    code, lines = c.cmd(b"STARTTLS now")
    assert code == 501, lines
    # Still in clear, still usable.
    assert c.cmd(b"NOOP")[0] == 250
    starttls(c)
    ehlo_lines(c)
    c.close()
    local_send_ok(petrel)


def test_implicit_tls_on_465(petrel):
    c = tls_connect(petrel.smtps_port)
    code, lines = c.reply()
    assert code == 220, lines
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    caps = ehlo_lines(c)
    assert b"STARTTLS" not in caps
    assert any(x.startswith(b"AUTH") for x in caps)
    assert c.cmd(b"STARTTLS")[0] == 503
    c.close()
    local_send_ok(petrel)


def test_plaintext_on_465_gets_no_greeting(petrel):
    # Implicit TLS: a client speaking clear SMTP gets no 220.
    c = Raw(petrel.smtps_port, timeout=3)
    c.send(b"EHLO x\r\n")
    c.sock.settimeout(3)
    try:
        data = c.sock.recv(4096)
    except (ConnectionResetError, TimeoutError, OSError):
        data = b""
    assert not data.startswith(b"220"), data
    c.close()
    local_send_ok(petrel)


def test_tls_1_1_refused_1_2_and_1_3_fine(petrel):
    for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        c = Raw(petrel.port)
        c.reply()
        ehlo_lines(c)
        starttls(c, client_ctx(minimum=v, maximum=v))
        assert c.sock.version() == v.name.replace("_", ".")
        ehlo_lines(c)
        assert c.cmd(b"NOOP")[0] == 250
        c.close()
    old = client_ctx(minimum=ssl.TLSVersion.TLSv1,
                     maximum=ssl.TLSVersion.TLSv1_1, weak=True)
    c = Raw(petrel.port)
    c.reply()
    ehlo_lines(c)
    with pytest.raises(ssl.SSLError) as ei:
        starttls(c, old)
    # The server said no with a protocol_version alert (RFC 8446 §4.2.1),
    # also after STARTTLS, where it must leave before the socket closes.
    assert "ALERT_PROTOCOL_VERSION" in str(ei.value), ei.value
    c.close()
    # Same on 465, and with openssl s_client on both.
    with pytest.raises(ssl.SSLError) as ei:
        tls_connect(petrel.smtps_port, ctx=old).reply()
    assert "ALERT_PROTOCOL_VERSION" in str(ei.value), ei.value
    for args in (["-connect", f"127.0.0.1:{petrel.smtps_port}"],
                 ["-connect", f"127.0.0.1:{petrel.port}", "-starttls",
                  "smtp"]):
        r = subprocess.run(
            ["openssl", "s_client", *args, "-tls1_1", "-cipher",
             "DEFAULT:@SECLEVEL=0"],
            input=b"", capture_output=True, timeout=30)
        assert r.returncode != 0
        assert b"alert protocol version" in r.stderr, r.stderr
    # Each refusal is logged with the client's address.
    log = wait_log(petrel, "TLS error")
    assert log.count("[127.0.0.1]: TLS error: unsupported protocol") >= 4, \
        log
    r = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{petrel.port}",
         "-starttls", "smtp", "-tls1_2"],
        input=b"QUIT\r\n", capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"Protocol  : TLSv1.2" in r.stdout or b"TLSv1.2" in r.stdout
    local_send_ok(petrel)


# --- CVE-2011-0411 ---

def test_starttls_injection_discarded(petrel):
    c = greeted(petrel.port)
    c.send(b"STARTTLS\r\nRSET\r\n")
    code, lines = c.reply()
    assert code == 220, lines
    assert c.buf == b""
    c.sock = client_ctx().wrap_socket(c.sock)
    # The first reply inside TLS answers what we send inside TLS: exactly
    # one line for NOOP, no RSET reply queued before it.
    c.send(b"NOOP\r\n")
    assert c.line() == b"250 2.0.0 Ok"
    c.sock.settimeout(1.0)
    with pytest.raises((TimeoutError, ssl.SSLError, OSError)):
        while True:  # nothing else comes (bounded by the timeout)
            c.line()
    assert c.buf == b""
    c.sock.settimeout(10)
    ehlo_lines(c)
    code, lines = submit(c, "a@example.net", ["alice@example.org"])
    assert code == 250, lines
    c.close()
    log = wait_log(petrel, "pipelined after STARTTLS")
    assert "[127.0.0.1]: discarded 6 bytes pipelined after STARTTLS" in log


def test_starttls_injection_with_mail_on_587(petrel):
    # A transaction injected in clear must not run (or count) in TLS.
    c = greeted(petrel.submission_port)
    c.send(b"STARTTLS\r\nEHLO evil\r\nAUTH PLAIN "
           + b"AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\r\n"
           + b"MAIL FROM:<alice@example.org>\r\n")
    assert c.reply()[0] == 220
    c.sock = client_ctx().wrap_socket(c.sock)
    # Not greeted any more in TLS, and not authenticated: 503.
    assert c.cmd(b"MAIL FROM:<alice@example.org>")[0] == 503
    caps = ehlo_lines(c)
    assert any(x.startswith(b"AUTH") for x in caps)  # not authenticated
    assert c.cmd(b"MAIL FROM:<alice@example.org>")[0] == 530
    c.close()
    assert "pipelined after STARTTLS" in wait_log(
        petrel, "pipelined after STARTTLS")
    local_send_ok(petrel)


# --- the certificate ---

def test_self_signed_certificate_made_and_served(petrel):
    d = petrel.data_dir
    cert, key = d / "tls-cert.pem", d / "tls-key.pem"
    assert cert.is_file() and key.is_file()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    der = peer_der(petrel.port)
    assert der == pem_der(cert)
    text = x509_text(der)
    assert "CN = mx.example.org" in text or "CN=mx.example.org" in text, text
    assert "DNS:mx.example.org" in text, text
    # The same one on 465 and 587.
    assert peer_der(petrel.smtps_port, starttls_first=False) == der
    assert peer_der(petrel.submission_port) == der


def test_self_signed_kept_across_restart(petrel):
    der = peer_der(petrel.port)
    assert petrel.stop() == 0
    petrel.start()
    assert peer_der(petrel.port) == der


def test_explicit_certificate_served(petrel_factory, tmp_path):
    cert, key = make_cert(tmp_path, "custom.example.org")
    p = petrel_factory(extra={"tls_cert": str(cert), "tls_key": str(key)})
    der = peer_der(p.port)
    assert der == pem_der(cert)
    assert "DNS:custom.example.org" in x509_text(der)
    assert peer_der(p.smtps_port, starttls_first=False) == der
    assert not (p.data_dir / "tls-cert.pem").exists()


def test_sighup_reloads_certificate(petrel_factory, tmp_path):
    cert, key = make_cert(tmp_path, "one.example.org")
    p = petrel_factory(extra={"tls_cert": str(cert), "tls_key": str(key)})
    old = pem_der(cert)
    # A session in TLS before the reload...
    s1 = greeted(p.port, tls=True)
    assert s1.sock.getpeercert(binary_form=True) == old
    s465 = greeted(p.smtps_port, implicit=True)
    new_cert, new_key = make_cert(tmp_path, "two.example.org", name="new")
    os.replace(new_key, key)
    os.replace(new_cert, cert)
    new = pem_der(cert)
    assert new != old
    p.proc.send_signal(signal.SIGHUP)
    assert "certificates reloaded" in wait_log(p, "certificates reloaded")
    # ...new sessions see the new certificate...
    assert peer_der(p.port) == new
    assert peer_der(p.smtps_port, starttls_first=False) == new
    assert "DNS:two.example.org" in x509_text(new)
    # ...and the old ones keep working.
    assert s1.cmd(b"NOOP") == (250, [b"250 2.0.0 Ok"])
    code, lines = submit(s1, "a@example.net", ["alice@example.org"])
    assert code == 250, lines
    assert s465.cmd(b"NOOP")[0] == 250
    s1.close()
    s465.close()


def test_sighup_with_bad_certificate_keeps_old(petrel_factory, tmp_path):
    cert, key = make_cert(tmp_path, "one.example.org")
    p = petrel_factory(extra={"tls_cert": str(cert), "tls_key": str(key)})
    old = pem_der(cert)
    # A served session first: the event loop (and its SIGHUP handler) is
    # up only after the listeners are; see the report on that window.
    assert peer_der(p.port) == old
    cert.write_text("not a certificate\n")
    p.proc.send_signal(signal.SIGHUP)
    assert "keeping the old certificate" in wait_log(
        p, "keeping the old certificate")
    assert peer_der(p.port) == old
    local_send_ok(p)


# --- Received: ---

def test_received_esmtpsa_on_587(petrel):
    c = greeted(petrel.submission_port, tls=True)
    assert auth_plain(c)[0] == 235
    code, lines = submit(c, "alice@example.org", ["bob@example.org"])
    assert code == 250, lines
    c.close()
    msg = petrel.wait_mailbox("bob", 1)[0]
    head = msg[:len(msg) - len(body_of(msg))].decode()
    assert " with ESMTPSA id " in head, head
    assert "(using TLSv1." in head and " with cipher " in head, head
    assert "(Authenticated sender: alice@example.org)" in head, head


def test_received_esmtpsa_on_465(petrel):
    c = greeted(petrel.smtps_port, implicit=True)
    assert auth_plain(c)[0] == 235
    code, lines = submit(c, "alice@example.org", ["bob@example.org"])
    assert code == 250, lines
    c.close()
    msg = petrel.wait_mailbox("bob", 1)[0]
    head = msg[:len(msg) - len(body_of(msg))].decode()
    assert " with ESMTPSA id " in head, head
    assert "(using TLSv1.3 with cipher " in head, head


def test_received_esmtps_on_25(petrel):
    c = greeted(petrel.port, tls=True)
    code, lines = submit(c, "someone@example.net", ["alice@example.org"])
    assert code == 250, lines
    c.close()
    msg = petrel.wait_mailbox("alice", 1)[0]
    head = msg[:len(msg) - len(body_of(msg))].decode()
    assert " with ESMTPS id " in head, head
    assert "(using TLSv1." in head, head
    assert "Authenticated" not in head, head


# --- real clients ---

def swaks(*args, timeout=60):
    return subprocess.run(["swaks", "--timeout", "20", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_swaks_starttls_25_587_and_tlsc_465(petrel):
    r = swaks("--server", f"127.0.0.1:{petrel.port}", "--tls",
              "--from", "x@example.net", "--to", "alice@example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    for port, mode in ((petrel.submission_port, "--tls"),
                       (petrel.smtps_port, "--tlsc")):
        r = swaks("--server", f"127.0.0.1:{port}", mode, "--auth", "LOGIN",
                  "--auth-user", "alice@example.org", "--auth-password",
                  "secret", "--from", "alice@example.org",
                  "--to", "bob@example.org")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "235 2.7.0" in r.stdout
    assert len(petrel.wait_mailbox("alice", 1)) == 1
    msgs = petrel.wait_mailbox("bob", 2)
    assert len(msgs) == 2
    assert all(b"with ESMTPSA" in m for m in msgs)
    # swaks without TLS on 587 cannot authenticate.
    r = swaks("--server", f"127.0.0.1:{petrel.submission_port}",
              "--auth", "PLAIN", "--auth-user", "alice@example.org",
              "--auth-password", "secret", "--from", "alice@example.org",
              "--to", "bob@example.org")
    assert r.returncode != 0
