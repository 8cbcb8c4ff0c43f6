"""Helpers shared by the TLS / AUTH / hardening battery
(tests/blackbox/test_tls.py, test_auth.py, test_hardening.py): client TLS
contexts, STARTTLS and implicit TLS on a Raw connection, AUTH PLAIN/LOGIN
encodings, certificate generation with the openssl tool."""

import base64
import ssl
import subprocess
import time
import warnings

from conftest import Raw

PASSWORD = "secret"


def client_ctx(minimum=None, maximum=None, weak=False):
    """A client context that does not verify (petrel's default certificate
    is self-signed); minimum/maximum are ssl.TLSVersion values."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if weak:
        # OpenSSL 3 refuses TLS < 1.2 on the client side at security
        # level 1+; level 0 lets the client at least offer it.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # TLSv1/TLSv1_1 are deprecated names
        warnings.simplefilter("ignore", DeprecationWarning)
        if minimum is not None:
            ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
    return ctx


def starttls(c: Raw, ctx=None):
    """STARTTLS on a greeted (EHLO'd) Raw connection: 220, then wrap."""
    code, lines = c.cmd(b"STARTTLS")
    assert code == 220, lines
    assert c.buf == b"", c.buf  # nothing may follow the 220 in clear
    c.sock = (ctx or client_ctx()).wrap_socket(c.sock)
    return c


def tls_connect(port, source=None, ctx=None, timeout=10):
    """Implicit TLS (port 465): the handshake before the greeting."""
    c = Raw(port, source=source, timeout=timeout)
    c.sock = (ctx or client_ctx()).wrap_socket(c.sock)
    return c


def ehlo_lines(c, name=b"client.example.net"):
    code, lines = c.cmd(b"EHLO " + name)
    assert code == 250, lines
    return [ln[4:].upper() for ln in lines]


def greeted(port, source=None, tls=False, implicit=False, timeout=10):
    """A connection after the greeting and EHLO; tls=True does STARTTLS
    and EHLO again; implicit=True wraps before the greeting."""
    c = (tls_connect(port, source=source, timeout=timeout) if implicit else
         Raw(port, source=source, timeout=timeout))
    code, lines = c.reply()
    assert code == 220, lines
    ehlo_lines(c)
    if tls and not implicit:
        starttls(c)
        ehlo_lines(c)
    return c


def plain_b64(user, password, authzid=""):
    return base64.b64encode(
        f"{authzid}\0{user}\0{password}".encode()).decode()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def auth_plain(c, user="alice@example.org", password=PASSWORD):
    return c.cmd(b"AUTH PLAIN " + plain_b64(user, password).encode())


def submit(c, sender, rcpts, body=b"Subject: t\r\n\r\nhello\r\n"):
    """MAIL/RCPT/DATA on a ready connection; (code, lines) of the end."""
    code, lines = c.cmd(b"MAIL FROM:<" + sender.encode() + b">")
    if code != 250:
        return code, lines
    for r in rcpts:
        code, lines = c.cmd(b"RCPT TO:<" + r.encode() + b">")
        if code != 250:
            return code, lines
    code, lines = c.cmd(b"DATA")
    if code != 354:
        return code, lines
    c.send(body + b".\r\n")
    return c.reply()


def make_cert(directory, cn, name="cert"):
    """An EC P-256 self-signed certificate for cn: (cert_path, key_path)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out",
         str(cert), "-days", "2", "-subj", f"/CN={cn}", "-addext",
         f"subjectAltName=DNS:{cn}"],
        check=True, capture_output=True, timeout=30)
    return cert, key


def x509_text(der: bytes) -> str:
    """`openssl x509` on a DER certificate: subject and SAN."""
    r = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-ext",
         "subjectAltName"], input=der, capture_output=True, check=True,
        timeout=30)
    return r.stdout.decode()


def peer_der(port, starttls_first=True):
    """The certificate petrel serves (DER), by STARTTLS on port or, with
    starttls_first=False, by implicit TLS."""
    c = greeted(port, tls=starttls_first, implicit=not starttls_first)
    try:
        return c.sock.getpeercert(binary_form=True)
    finally:
        c.close()


def pem_der(path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(open(path).read())


def wait_log(p, text, timeout=10.0):
    """Until petrel's log contains text (bounded); returns the log."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        log = p.log()
        if text in log:
            return log
        time.sleep(0.05)
    return p.log()


def local_send_ok(p, source=None, user="alice"):
    """The server still answers normally: a plain message over port 25 is
    accepted and lands in the mailbox."""
    before = len(p.mailbox(user))
    c = greeted(p.port, source=source)
    try:
        code, lines = submit(c, "check@example.net", [f"{user}@example.org"],
                             b"Subject: still alive\r\n\r\nok\r\n")
        assert code == 250, lines
        c.cmd(b"QUIT")
    finally:
        c.close()
    assert len(p.wait_mailbox(user, before + 1)) == before + 1
