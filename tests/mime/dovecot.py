"""
dovecot - a private Dovecot 2.3 instance (own config, own temp dir, a free
loopback port) to cross-check petrel's MIME/IMAP strings, and a helper
that APPENDs messages and FETCHes what IMAP says about them.

Not part of `make test` (Dovecot is a reference, not a dependency): run
tests/mime/make_fixtures.py by hand to regenerate the unit-test fixtures.
"""
import contextlib
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time

CONF = """
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:{d}/mail
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = static
  args = password=pw
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dovecot():
    d = tempfile.mkdtemp(prefix="petrel-dovecot-")
    os.chmod(d, 0o755)
    port = free_port()
    # Dovecot refuses uid 0 for mail: the mail belongs to "nobody".
    import pwd
    nobody = pwd.getpwnam("nobody")
    uid, gid = nobody.pw_uid, nobody.pw_gid
    with open(os.path.join(d, "dovecot.conf"), "w") as f:
        f.write(CONF.format(d=d, port=port, uid=uid, gid=gid))
    for sub in ("run", "state", "mail", "home"):
        os.mkdir(os.path.join(d, sub))
    for sub in ("mail", "home"):
        os.chown(os.path.join(d, sub), uid, gid)
    conf = os.path.join(d, "dovecot.conf")
    subprocess.run(["dovecot", "-c", conf], check=True)
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        subprocess.run(["doveadm", "-c", conf, "stop"], check=False)
        deadline = time.time() + 10
        pidf = os.path.join(d, "run", "master.pid")
        while os.path.exists(pidf) and time.time() < deadline:
            time.sleep(0.05)
        shutil.rmtree(d, ignore_errors=True)


def raw_fetch(sock_file, sock, tag, cmd):
    """Send cmd, return the raw response bytes up to the tagged line."""
    sock.sendall(tag + b" " + cmd + b"\r\n")
    out = b""
    while True:
        line = sock_file.readline()
        if not line:
            raise EOFError
        out += line
        # literal?
        import re
        m = re.search(rb"\{(\d+)\}\r\n$", line)
        if m:
            out += sock_file.read(int(m.group(1)))
            continue
        if line.startswith(tag + b" "):
            return out


class Session:
    def __init__(self, port):
        self.c = imaplib.IMAP4("127.0.0.1", port)
        self.c.login("test", "pw")
        self.n = 0

    def append(self, msg):
        """APPEND msg; its sequence number, or None if Dovecot refuses
        it (it refuses an empty message, for one)."""
        try:
            typ, data = self.c.append("INBOX", None, None, msg)
        except imaplib.IMAP4.error:
            return None
        if typ != "OK":
            return None
        self.n += 1
        return self.n

    def select(self):
        self.c.select("INBOX")

    def fetch_raw(self, seq, items):
        """The raw untagged FETCH response for one message."""
        tag = self.c._new_tag()
        cmd = b"FETCH %d (%s)" % (seq, items.encode())
        self.c.send(tag + b" " + cmd + b"\r\n")
        out = b""
        import re
        while True:
            line = self.c.readline()
            out += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                out += self.c.read(int(m.group(1)))
                continue
            if line.startswith(tag + b" "):
                return out

    def close(self):
        try:
            self.c.logout()
        except Exception:
            pass
