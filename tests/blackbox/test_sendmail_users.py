"""`petrel sendmail` for every local user (issue 9), for real: Unix users
made here with useradd, the binary installed setgid to a drop group as
`make install` does, commands run as those users with runuser, a server
that drops to its own user. The sender is the invoking user whatever
-f says (unless it is their own), and nothing of the queue or of
others' mail is readable to them — not even through the setgid binary.

Needs root (to make users and a setgid file); skipped otherwise."""

import os
import shutil
import smtplib
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from conftest import BIN, ROOT, SANITIZER_ENV, queue_id, strip_return_path

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

# The setgid copy is the release build: a setgid process is not dumpable,
# so LeakSanitizer cannot stop its threads and the sanitizers cannot even
# read their options from /proc/self/environ. The same code runs under
# ASan + UBSan as root in test_outbound_pickup.py; the server here is the
# ASan binary as everywhere.
SETGID_BIN = ROOT / "build" / "petrel"
SETGID_ENV = {"PATH": "/usr/bin:/bin"}


class Local:
    """Unix users and a group made for one test module, removed after."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.group = f"ptdrop{tag}"
        self.server = f"ptsrv{tag}"
        self.users = [f"ptua{tag}", f"ptub{tag}"]
        subprocess.run(["groupadd", self.group], check=True)
        for u in [self.server] + self.users:
            subprocess.run(["useradd", "-M", "-N", "-g", "nogroup", "-s",
                            "/usr/sbin/nologin", u], check=True)

    def remove(self):
        for u in [self.server] + self.users:
            subprocess.run(["userdel", u], check=False)
        subprocess.run(["groupdel", self.group], check=False)


@pytest.fixture(scope="module")
def local():
    lo = Local()
    yield lo
    lo.remove()


@pytest.fixture
def site(local, petrel_factory):
    """A traversable folder with the setgid binary and a petrel that
    runs as local.server with sendmail_group = local.group."""
    parent = Path(tempfile.mkdtemp(prefix="petrel-sendmail-", dir="/tmp"))
    os.chmod(parent, 0o755)
    bindir = parent / "bin"
    bindir.mkdir()
    binary = bindir / "petrel"
    shutil.copy(SETGID_BIN if SETGID_BIN.exists() else BIN, binary)
    shutil.chown(binary, group=local.group)
    os.chmod(binary, 0o2755)  # what `make install` does
    p = petrel_factory(parent=parent, start=False,
                       extra={"user": local.server,
                              "sendmail_group": local.group})
    os.chmod(p.conf, 0o644)
    p.start()
    yield p, binary
    p.stop()
    shutil.rmtree(parent, ignore_errors=True)


def as_user(user, *cmd, input=None):
    return subprocess.run(["/usr/sbin/runuser", "-u", user, "--",
                           *map(str, cmd)],
                          input=input, capture_output=True, timeout=60,
                          env=SETGID_ENV)


def sendmail(user, p, binary, *args, body=b"Subject: s\n\nhi\n"):
    return as_user(user, binary, "-c", p.conf, "sendmail", *args,
                   input=body)


def test_user_sends_as_itself(site, local):
    p, binary = site
    u = local.users[0]
    r = sendmail(u, p, binary, "bob@example.org",
                 body=b"Subject: from a user\n\nhello\n")
    assert r.returncode == 0, r.stderr
    msgs = p.wait_mailbox("bob", 1)
    assert len(msgs) == 1, p.log()[-3000:]
    m = msgs[0]
    assert m.startswith(f"Return-Path: <{u}@mx.example.org>\r\n".encode()), m
    uid = int(subprocess.run(["id", "-u", u], capture_output=True,
                             text=True).stdout)
    assert f"(petrel, from userid {uid})".encode() in m
    assert m.endswith(b"\r\n\r\nhello\r\n")
    assert f"uid={uid}, from=<{u}@mx.example.org>" in p.log()
    # The file went through maildrop/, not pickup/ (which is not theirs).
    drop = p.data_dir / "maildrop"
    assert stat.S_IMODE(drop.stat().st_mode) == 0o1730
    assert drop.stat().st_gid == int(subprocess.run(
        ["getent", "group", local.group], capture_output=True,
        text=True).stdout.split(":")[2])


def test_foreign_f_is_refused_own_f_taken(site, local):
    p, binary = site
    u = local.users[0]
    r = sendmail(u, p, binary, "-f", "ceo@example.org", "bob@example.org")
    assert r.returncode == 0, r.stderr
    r = sendmail(u, p, binary, "-f", f"{u}+list@mx.example.org",
                 "alice@example.org")
    assert r.returncode == 0, r.stderr
    forged = p.wait_mailbox("bob", 1)[0]
    assert forged.startswith(f"Return-Path: <{u}@mx.example.org>".encode())
    assert (f"X-Authentication-Warning: mx.example.org: {u} set sender to "
            f"<ceo@example.org> using -f").encode() in forged
    own = p.wait_mailbox("alice", 1)[0]
    assert own.startswith(f"Return-Path: <{u}+list@mx.example.org>".encode())
    assert b"X-Authentication-Warning" not in own
    # Root is trusted, as by sendmail: its -f stands (pickup/ path).
    r = subprocess.run([BIN, "-c", str(p.conf), "sendmail", "-f",
                        "ceo@example.org", "bob@example.org"],
                       input=b"Subject: root\n\nx\n", capture_output=True,
                       timeout=60, env={**os.environ, **SANITIZER_ENV})
    assert r.returncode == 0, r.stderr
    msgs = p.wait_mailbox("bob", 2)
    assert any(m.startswith(b"Return-Path: <ceo@example.org>")
               for m in msgs), msgs


def test_nothing_else_readable(site, local):
    p, binary = site
    u, other = local.users
    d = p.data_dir
    # Something in the queue (example.net's MX is down: it waits).
    with smtplib.SMTP("127.0.0.1", p.port, timeout=30) as s:
        s.ehlo("client.example.net")
        code, resp = s.mail("alice@example.org")
        s.rcpt("carol@example.net")
        code, resp = s.data(b"Subject: queued\r\n\r\nqueued secret\r\n")
        qid = queue_id(resp)
    # Let the other user's message wait in maildrop/: server stopped.
    p.stop()
    r = sendmail(other, p, binary, "bob@example.org",
                 body=b"Subject: secret\n\nfor bob only\n")
    assert r.returncode == 0, r.stderr
    waiting = [f for f in (d / "maildrop").iterdir()
               if not f.name.startswith(".")]
    assert len(waiting) == 1
    mine = waiting[0]
    assert mine.stat().st_uid == int(subprocess.run(
        ["id", "-u", other], capture_output=True, text=True).stdout)
    # Neither plainly nor through the setgid binary can the first user
    # list or read the drop folder, the queue, or anyone's mail.
    for cmd in (["ls", d / "maildrop"], ["cat", mine],
                ["ls", d / "queue"], ["ls", d / "queue" / "env"],
                ["ls", d / "mail"], ["ls", d / "pickup"],
                ["cat", d / "directory.db"],
                ["touch", d / "pickup" / "x"]):
        r = as_user(u, *cmd)
        assert r.returncode != 0, (cmd, r.stdout)
        assert b"Permission denied" in r.stderr, (cmd, r.stderr)
    for sub in (["queue", "list"], ["queue", "show", qid],
                ["user", "list"], ["alias", "list"]):
        r = as_user(u, binary, "-c", p.conf, *sub)
        assert qid.encode() not in r.stdout, (sub, r.stdout)
        assert b"secret" not in r.stdout and b"alice" not in r.stdout, sub
    assert as_user(u, binary, "-c", p.conf, "queue", "show",
                   qid).returncode != 0
    # The server starts (as root, dropping to its user) and delivers it
    # from the owner the file still has.
    p.start()
    msgs = p.wait_mailbox("bob", 1)
    assert len(msgs) == 1, p.log()[-3000:]
    assert msgs[0].startswith(
        f"Return-Path: <{other}@mx.example.org>\r\n".encode())
    assert b"for bob only" in msgs[0]
    assert not mine.exists()
    # And nobody else can read what was delivered.
    for box in (d / "mail" / "example.org" / "bob" / "new",):
        r = as_user(u, "ls", box)
        assert r.returncode != 0
    assert strip_return_path(msgs[0]).startswith(b"Received: by ")


def test_without_the_group_a_user_gets_a_clear_error(site, local):
    p, binary = site
    plain = p.base / "plain-petrel"
    shutil.copy(BIN, plain)   # not setgid
    os.chmod(plain, 0o755)
    r = as_user(local.users[0], plain, "-c", p.conf, "sendmail",
                "bob@example.org", input=b"Subject: x\n\nx\n")
    assert r.returncode == 1
    assert b"maildrop" in r.stderr and b"setgid" in r.stderr, r.stderr
    # Nothing was left anywhere for the server to take.
    assert list((p.data_dir / "maildrop").iterdir()) == []
    assert list((p.data_dir / "pickup").iterdir()) == []
