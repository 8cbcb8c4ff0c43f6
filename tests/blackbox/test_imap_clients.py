"""Real IMAP clients from Debian against petrel, driven as users drive
them: mbsync (isync) and offlineimap3 syncing a Maildir both ways, getmail6
fetching and deleting, mutt in tmux with scripted keys (reading, copying,
deleting, expunging) and its screen read back with capture-pane."""

import hashlib
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from imaputil import deliver, message, session, wait_for


def tool(name):
    path = shutil.which(name) or "/usr/bin/" + name
    return pytest.mark.skipif(not os.path.exists(path),
                              reason=f"{name} not installed "
                                     "(scripts/deps.sh installs it)")


def env_for(home):
    return {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C.UTF-8", "TERM": "xterm"}


def cert_of(petrel):
    return petrel.data_dir / "tls-cert.pem"


def fingerprint(petrel):
    pem = cert_of(petrel).read_text()
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def local_msgs(folder):
    """{subject: (path, info letters)} of a local Maildir folder."""
    out = {}
    for sub in ("new", "cur"):
        d = folder / sub
        if not d.is_dir():
            continue
        for f in d.iterdir():
            data = f.read_bytes()
            m = re.search(rb"^Subject: (.*?)\r?$", data, re.M)
            info = f.name.split(":2,")[1] if ":2," in f.name else ""
            out[m.group(1).decode() if m else ""] = (f, info)
    return out


def server_flags(c, mbox=b"INBOX"):
    """{subject: flags} on the server."""
    c.ok(b"EXAMINE " + mbox)
    u, _ = c.ok(b"FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = {}
    for r in u:
        m = re.search(rb"FLAGS \(([^)]*)\)", r)
        s = re.search(rb"Subject: (.*?)\r\n", r)
        if m and s:
            out[s.group(1).decode()] = set(m.group(1).decode().split())
    return out


def put_local(folder, name, data):
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    (folder / "new").mkdir(exist_ok=True)
    (folder / "cur").mkdir(exist_ok=True)
    tmp = folder / "tmp" / name
    tmp.write_bytes(data)
    tmp.rename(folder / "new" / name)


@tool("mbsync")
def test_mbsync_both_ways(petrel, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    deliver(petrel, [message("one"), message("two"), message("three")])
    c = session(petrel)
    c.ok(b"STORE 3 +FLAGS (\\Flagged)")
    (home / "mail").mkdir()
    rc = home / "mbsyncrc"
    rc.write_text(f"""IMAPAccount petrel
Host 127.0.0.1
Port {petrel.imaps_port}
User alice@example.org
Pass secret
SSLType IMAPS
CertificateFile {cert_of(petrel)}
SystemCertificates no

IMAPStore remote
Account petrel

MaildirStore local
Path {home}/mail/
Inbox {home}/mail/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")

    def mbsync():
        r = subprocess.run(["mbsync", "-c", str(rc), "-a"], env=env_for(home),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr

    mbsync()
    inbox = home / "mail" / "INBOX"
    got = local_msgs(inbox)
    assert set(got) == {"one", "two", "three"}
    assert "F" in got["three"][1]
    for f in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert (home / "mail" / f / "cur").is_dir(), f
    # Local changes: one read, two deleted, a new message in Archive.
    f, info = got["one"]
    f.rename(inbox / "cur" / (f.name.split(":2,")[0] + ":2,S"))
    got["two"][0].unlink()
    put_local(home / "mail" / "Archive", "1700000000.local",
              message("from-laptop"))
    # Server changes: three answered, a new delivery.
    c.ok(b"SELECT INBOX")
    c.ok(b"STORE 3 +FLAGS (\\Answered)")
    deliver(petrel, [message("four")])
    mbsync()
    srv = server_flags(c)
    assert set(srv) == {"one", "three", "four"}
    assert "\\Seen" in srv["one"]
    srv_arch = server_flags(c, b"Archive")
    assert set(srv_arch) == {"from-laptop"}
    got = local_msgs(inbox)
    assert set(got) == {"one", "three", "four"}
    assert "R" in got["three"][1] and "F" in got["three"][1]
    # A second run changes nothing.
    mbsync()
    assert set(local_msgs(inbox)) == {"one", "three", "four"}
    c.close()


@tool("offlineimap")
def test_offlineimap_both_ways(petrel, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    deliver(petrel, [message("alpha"), message("beta")])
    rc = home / "offlineimaprc"
    rc.write_text(f"""[general]
accounts = a
metadata = {home}/.offlineimap

[Account a]
localrepository = L
remoterepository = R

[Repository L]
type = Maildir
localfolders = {home}/om

[Repository R]
type = IMAP
remotehost = 127.0.0.1
remoteport = {petrel.imaps_port}
remoteuser = alice@example.org
remotepass = secret
ssl = yes
cert_fingerprint = {fingerprint(petrel)}
""")

    def run():
        r = subprocess.run(["offlineimap", "-c", str(rc), "-o", "-u",
                            "basic"], env=env_for(home), capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "ERROR" not in r.stdout + r.stderr, r.stdout + r.stderr

    run()
    inbox = home / "om" / "INBOX"
    got = local_msgs(inbox)
    assert set(got) == {"alpha", "beta"}
    # Locally: alpha flagged, beta deleted, a message in Sent.
    f, _ = got["alpha"]
    f.rename(inbox / "cur" / (f.name.split(":2,")[0] + ":2,F"))
    got["beta"][0].unlink()
    put_local(home / "om" / "Sent", "1700000001.local", message("sent-one"))
    run()
    c = session(petrel, select=None)
    srv = server_flags(c)
    assert set(srv) == {"alpha"} and "\\Flagged" in srv["alpha"]
    assert set(server_flags(c, b"Sent")) == {"sent-one"}
    # Server: a new message reaches the local side.
    deliver(petrel, [message("gamma")])
    run()
    assert set(local_msgs(inbox)) == {"alpha", "gamma"}
    c.close()


@pytest.fixture
def open_dir():
    """A directory any user may enter: getmail will not deliver as root,
    so under root it delivers as nobody (its "user" option)."""
    d = tempfile.mkdtemp(prefix="petrel-getmail-", dir="/tmp")
    os.chmod(d, 0o755)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@tool("getmail")
def test_getmail6_fetch_and_delete(petrel, open_dir):
    home = open_dir
    for sub in ("new", "cur", "tmp"):
        (home / "gm" / sub).mkdir(parents=True)
    for d in (home / "gm", home / "gm" / "new", home / "gm" / "cur",
              home / "gm" / "tmp"):
        os.chmod(d, 0o777)
    (home / ".getmail").mkdir()
    as_user = "user = nobody\n" if os.getuid() == 0 else ""
    deliver(petrel, [message("g1", "first body"), message("g2")])
    rc = home / "getmailrc"
    rc.write_text(f"""[retriever]
type = SimpleIMAPSSLRetriever
server = 127.0.0.1
port = {petrel.imaps_port}
username = alice@example.org
password = secret
mailboxes = ("INBOX",)
ssl_fingerprints = ("{fingerprint(petrel)}",)

[destination]
type = Maildir
path = {home}/gm/
{as_user}
[options]
delete = true
read_all = true
verbose = 0
""")
    r = subprocess.run(["getmail", f"--rcfile={rc}",
                        f"--getmaildir={home}/.getmail"], env=env_for(home),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    got = local_msgs(home / "gm")
    assert set(got) == {"g1", "g2"}
    assert b"first body" in got["g1"][0].read_bytes()
    c = session(petrel)
    u, _ = c.ok(b"SEARCH ALL")
    assert u == [b"* SEARCH"]  # deleted and expunged on the server
    c.close()


class Tmux:
    """A private tmux server (its own socket) running one program."""

    def __init__(self, tmp_path, cmd, env):
        self.sock = str(tmp_path / "tmux.sock")
        self.env = env
        self.run("new-session", "-d", "-s", "t", "-x", "160", "-y", "40",
                 cmd)

    def run(self, *args):
        return subprocess.run(["tmux", "-S", self.sock, *args], env=self.env,
                              capture_output=True, text=True, timeout=10)

    def keys(self, *keys):
        self.run("send-keys", "-t", "t", *keys)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "t").stdout

    def wait(self, pattern, timeout=20):
        got = wait_for(lambda: re.search(pattern, self.screen()),
                       timeout=timeout, step=0.1)
        assert got, f"{pattern!r} not on screen:\n{self.screen()}"

    def alive(self):
        return self.run("has-session", "-t", "t").returncode == 0

    def kill(self):
        self.run("kill-server")


@tool("mutt")
@tool("tmux")
def test_mutt_read_copy_delete(petrel, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    deliver(petrel, [message("Lunch on Friday", "Shall we meet at noon?"),
                     message("Project status", "All green.")])
    # mutt trusts the certificates of its certificate_file.
    certs = home / "certs"
    shutil.copy(cert_of(petrel), certs)
    rc = home / "muttrc"
    rc.write_text(f"""set folder="imaps://alice%40example.org@127.0.0.1:{petrel.imaps_port}/"
set spoolfile="+INBOX"
set imap_pass="secret"
set certificate_file="{certs}"
set ssl_verify_host=no
set imap_check_subscribed=no
set mail_check=1
set timeout=1
set header_cache=""
set message_cachedir=""
set delete=yes
set quit=yes
set move=no
set confirmappend=no
set wait_key=no
set sort=date-sent
set date_format="%Y-%m-%d"
""")
    t = Tmux(tmp_path, f"mutt -n -F {rc}", env_for(home))
    try:
        t.wait(r"Project status")
        t.wait(r"Lunch on Friday")
        # Read the message under the cursor (the first by date).
        t.keys("Enter")
        t.wait(r"Shall we meet at noon|All green")
        t.keys("i")  # back to the index
        t.wait(r"Lunch on Friday")
        # Copy the current message to Archive (C, then the name).
        t.keys("C")
        t.wait(r"Copy to mailbox")
        t.keys("C-u", "=Archive", "Enter")
        t.wait(r"Lunch on Friday")
        # Delete it and sync: expunged on the server.
        t.keys("d")
        t.keys("$")
        time.sleep(0.5)
        t.keys("q")
        wait_for(lambda: not t.alive(), timeout=15, step=0.1)
    finally:
        t.kill()
    c = session(petrel, select=None)
    inbox = server_flags(c)
    archive = server_flags(c, b"Archive")
    assert len(inbox) == 1, inbox
    assert len(archive) == 1, archive
    read = list(inbox.values())[0] | list(archive.values())[0]
    assert "\\Seen" in read, (inbox, archive)
    assert set(archive) | set(inbox) == {"Lunch on Friday",
                                         "Project status"}
    c.close()
