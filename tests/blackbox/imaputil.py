"""Helpers shared by the IMAP battery (tests/blackbox/test_imap_*.py): a
raw IMAP connection that reads whole responses (literals included) as
bytes, logging in over STARTTLS or IMAPS, and delivering test mail
through petrel's own SMTP port."""

import re
import socket
import ssl
import time

from pop3util import deliver  # noqa: F401  (re-exported for the tests)

PASSWORD = "secret"
USER = b"alice@example.org"


def tls_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


LITERAL = re.compile(rb"\{(\d+)\+?\}$")


class Imap:
    """A raw IMAP connection. Responses are bytes exactly as sent, one
    item per response with its literals inline ({n} CRLF data)."""

    def __init__(self, port, host="127.0.0.1", implicit_tls=False,
                 timeout=15, greet=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if implicit_tls:
            self.sock = tls_ctx().wrap_socket(self.sock)
        self.buf = b""
        self.n = 0
        self.greeting = self.response() if greet else None

    # -- bytes --

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError(self.buf)
        self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def _take(self, n) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self) -> bytes:
        """One response: a line, with any literals and the rest of it."""
        out = b""
        while True:
            ln = self._line()
            out += ln
            m = LITERAL.search(ln)
            if not m:
                return out
            out += b"\r\n" + self._take(int(m.group(1)))

    # -- commands --

    def tag(self):
        self.n += 1
        return b"t%d" % self.n

    def cmd(self, command: bytes, tag=None):
        """Send tag + command; return (status, tagged text, untagged)."""
        tag = tag or self.tag()
        self.send(tag + b" " + command + b"\r\n")
        return self.wait(tag)

    def wait(self, tag):
        untagged = []
        while True:
            r = self.response()
            if r.startswith(tag + b" "):
                rest = r[len(tag) + 1:]
                status, _, text = rest.partition(b" ")
                return status, text, untagged
            untagged.append(r)

    def ok(self, command: bytes):
        st, text, untagged = self.cmd(command)
        assert st == b"OK", (command, st, text, untagged)
        return untagged, text

    def starttls(self):
        st, text, _ = self.cmd(b"STARTTLS")
        assert st == b"OK", text
        assert self.buf == b"", self.buf
        self.sock = tls_ctx().wrap_socket(self.sock)

    def login(self, user=USER, password=PASSWORD.encode()):
        return self.ok(b"LOGIN " + user + b" " + password)

    def closed(self, timeout=5.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def session(petrel, user=USER, select=b"INBOX", implicit=True):
    """A logged-in connection (IMAPS, or STARTTLS when implicit=False),
    with select selected unless None."""
    if implicit:
        c = Imap(petrel.imaps_port, implicit_tls=True)
    else:
        c = Imap(petrel.imap_port)
        c.starttls()
    c.login(user)
    if select is not None:
        c.ok(b"SELECT " + select)
    return c


def message(subject="hello", body="body text", sender="bob@example.net",
            to="alice@example.org", extra=""):
    return (f"From: Bob <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n{extra}\r\n"
            f"{body}\r\n").encode()


def fetch_items(untagged):
    """{seq: response bytes} of the FETCH responses."""
    out = {}
    for r in untagged:
        m = re.match(rb"\* (\d+) FETCH ", r)
        if m:
            out[int(m.group(1))] = r
    return out


def wait_for(cond, timeout=10.0, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()
