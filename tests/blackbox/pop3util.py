"""Helpers shared by the POP3 battery (tests/blackbox/test_pop3*.py): a raw
POP3 connection for byte-exact dialogues, delivery through petrel's own
SMTP port, and a look at the Maildir files the answers must match."""

import re
import smtplib
import socket
import time

PASSWORD = "secret"


class Pop:
    """A raw POP3 connection (RFC 1939): status lines and multi-line
    answers as bytes, exactly as they came off the wire."""

    def __init__(self, port, host="127.0.0.1", timeout=15, greet=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        if greet:
            g = self.line()
            assert g.startswith(b"+OK"), g

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError(self.buf)
        self.buf += chunk

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def cmd(self, data: bytes) -> bytes:
        self.send(data + b"\r\n")
        return self.line()

    def multi_raw(self) -> bytes:
        """The body of a multi-line answer as sent (still dot-stuffed),
        without the terminating '.CRLF'; the status line must have been
        read already."""
        while True:
            if self.buf.startswith(b".\r\n"):
                self.buf = self.buf[3:]
                return b""
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                body, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                return body
            self._fill()

    def multi(self) -> bytes:
        """The multi-line body with the dot-stuffing undone."""
        return unstuff(self.multi_raw())

    def multi_cmd(self, data: bytes):
        """(status line, un-stuffed body) of a multi-line command; body is
        None when the status is -ERR."""
        st = self.cmd(data)
        if not st.startswith(b"+OK"):
            return st, None
        return st, self.multi()

    def login(self, user=b"alice@example.org", password=PASSWORD.encode()):
        st = self.cmd(b"USER " + user)
        assert st.startswith(b"+OK"), st
        st = self.cmd(b"PASS " + password)
        assert st.startswith(b"+OK"), st
        return st

    def listing(self, what=b"LIST"):
        """LIST or UIDL as {number: value}."""
        st, body = self.multi_cmd(what)
        assert st.startswith(b"+OK"), st
        out = {}
        for ln in body.split(b"\r\n")[:-1]:
            n, v = ln.split(b" ")
            out[int(n)] = v.decode()
        return out

    def stat(self):
        st = self.cmd(b"STAT")
        assert st.startswith(b"+OK "), st
        n, size = st.split()[1:3]
        return int(n), int(size)

    def retr(self, n) -> bytes:
        st, body = self.multi_cmd(b"RETR %d" % n)
        assert st.startswith(b"+OK"), st
        return body

    def quit(self):
        st = self.cmd(b"QUIT")
        assert st.startswith(b"+OK"), st
        assert self.closed()
        return st

    def closed(self, timeout=5.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def unstuff(data: bytes) -> bytes:
    """Undo the POP3 byte-stuffing (RFC 1939 §3) of CRLF lines."""
    lines = data.split(b"\r\n")
    return b"\r\n".join(ln[1:] if ln.startswith(b".") else ln
                        for ln in lines)


def deliver(petrel, messages, rcpt="alice@example.org",
            sender="bob@example.net"):
    """Send raw messages (bytes, CRLF lines) through petrel's SMTP port in
    one connection; each one is on disk when its 250 comes back."""
    with smtplib.SMTP("127.0.0.1", petrel.port, timeout=60) as s:
        for m in messages:
            refused = s.sendmail(sender, [rcpt], m)
            assert not refused, refused


def mail_files(petrel, user="alice", domain="example.org"):
    """The Maildir files (new/ and cur/) of a mailbox."""
    box = petrel.data_dir / "mail" / domain / user
    files = []
    for sub in ("new", "cur"):
        d = box / sub
        if d.is_dir():
            files += [p for p in d.iterdir() if p.is_file()]
    return files


def arrival_key(name: str):
    """Maildir name order with digit runs compared as numbers (what
    petrel's mailbox uses to hand out UIDs in arrival order)."""
    base = name.split(":2,", 1)[0]
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", base)]


def in_arrival_order(files):
    return sorted(files, key=lambda f: arrival_key(f.name))


def message(subject: str, body: bytes = b"hello\r\n",
            msgid: str = None) -> bytes:
    msgid = msgid or subject
    return (b"From: bob@example.net\r\nTo: alice@example.org\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Message-ID: <" + msgid.encode() + b"@test>\r\n\r\n" + body)


def header(msg: bytes, name: bytes) -> bytes:
    for ln in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if ln.lower().startswith(name.lower() + b":"):
            return ln.split(b":", 1)[1].strip()
    return None


def wait_login(port, deadline_s=5.0, user=b"alice@example.org"):
    """Log in, retrying while the maildrop is [IN-USE]; returns the
    logged-in Pop and how many attempts it took (bounded in time)."""
    end = time.time() + deadline_s
    tries = 0
    while True:
        tries += 1
        p = Pop(port)
        assert p.cmd(b"USER " + user).startswith(b"+OK")
        st = p.cmd(b"PASS " + PASSWORD.encode())
        if st.startswith(b"+OK"):
            return p, tries
        p.close()
        assert st.startswith(b"-ERR [IN-USE]"), st
        assert time.time() < end, "the maildrop lock was never released"
        time.sleep(0.1)
