"""A real POP3 client from Debian against petrel: fetchmail (6.4) fetches
over plain POP3 with USER/PASS, keeps mail and skips what it has seen by
UIDL, then fetches everything and deletes it."""

import os
import shutil
import subprocess

import pytest

from pop3util import deliver, in_arrival_order, mail_files, message

FETCHMAIL = shutil.which("fetchmail") or "/usr/bin/fetchmail"

pytestmark = pytest.mark.skipif(not os.path.exists(FETCHMAIL),
                                reason="fetchmail not installed "
                                       "(scripts/deps.sh installs it)")


def fetchmail(petrel, home, outdir, keep):
    """One fetchmail run against petrel's POP3 port; returns its result.
    Each message goes to its own file in outdir through the MDA."""
    rc = home / "fetchmailrc"
    rc.write_text(
        "set no syslog\n"
        f'set idfile "{home}/fetchids"\n'
        f"poll 127.0.0.1 port {petrel.pop3_port} protocol pop3 uidl\n"
        "  auth password timeout 20\n"
        '  user "alice@example.org" password "secret"\n'
        '  sslproto ""\n'
        f"  mda \"/bin/sh -c 'cat > {outdir}/msg-$$'\"\n"
        "  norewrite\n"
        + ("  keep\n" if keep else "  nokeep fetchall\n"))
    os.chmod(rc, 0o600)
    env = {"HOME": str(home), "FETCHMAILHOME": str(home),
           "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    return subprocess.run(
        [FETCHMAIL, "-f", str(rc), "--nosyslog", "-v",
         "--pidfile", str(home / "fetchmail.pid")],
        env=env, capture_output=True, text=True, timeout=60)


def fetched(outdir):
    out = {}
    for f in outdir.iterdir():
        data = f.read_bytes()
        f.unlink()
        subj = [ln for ln in data.split(b"\n")
                if ln.startswith(b"Subject: ")][0][9:].strip().decode()
        out[subj] = data
    return out


def test_fetchmail_keep_uidl_then_fetchall_and_delete(petrel, tmp_path):
    home = tmp_path / "home"
    outdir = tmp_path / "out"
    home.mkdir()
    outdir.mkdir()
    bodies = {"one": b"first\r\n.dot line\r\n",
              "two": b"second\r\n\r\nwith empty line\r\n",
              "three": b"x" * 5000 + b"\r\n"}
    deliver(petrel, [message(k, v) for k, v in bodies.items()])
    files = {f.name: f.read_bytes() for f in mail_files(petrel)}

    # 1. keep + uidl: all three arrive, the mailbox keeps them.
    r = fetchmail(petrel, home, outdir, keep=True)
    assert r.returncode == 0, r.stdout + r.stderr
    got = fetched(outdir)
    assert sorted(got) == sorted(bodies), r.stdout + r.stderr
    for name, data in files.items():
        # fetchmail hands the MDA LF line ends and puts its own
        # Received: on top; the rest is the stored message unchanged.
        # (Issue 9: the stored message starts with its Return-Path, RFC
        # 5321 §4.4, which fetchmail, an MDA, moves to the very top.)
        subj = [ln for ln in data.split(b"\r\n")
                if ln.startswith(b"Subject: ")][0][9:].decode()
        rp, rest = data.split(b"\r\n", 1)
        assert rp.startswith(b"Return-Path: <"), data[:100]
        assert got[subj].startswith(rp + b"\n"), subj
        assert got[subj].endswith(rest.replace(b"\r\n", b"\n")), subj
    assert len(mail_files(petrel)) == 3

    # 2. two more arrive; keep + uidl fetches only the new ones.
    deliver(petrel, [message("four"), message("five")])
    r = fetchmail(petrel, home, outdir, keep=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(fetched(outdir)) == ["five", "four"], r.stdout + r.stderr
    assert len(mail_files(petrel)) == 5

    # 3. nothing new: fetchmail says so (exit 1, "no mail").
    r = fetchmail(petrel, home, outdir, keep=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert list(outdir.iterdir()) == []

    # 4. nokeep fetchall: everything comes once more and is deleted.
    r = fetchmail(petrel, home, outdir, keep=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(fetched(outdir)) == sorted(list(bodies) +
                                             ["four", "five"])
    assert mail_files(petrel) == []
    assert "pop3: logout user=<alice@example.org>" in petrel.log()


def test_fetchmail_wrong_password(petrel, tmp_path):
    home = tmp_path / "home"
    outdir = tmp_path / "out"
    home.mkdir()
    outdir.mkdir()
    deliver(petrel, [message("kept")])
    rc = home / "fetchmailrc"
    rc.write_text(
        "set no syslog\n"
        f"poll 127.0.0.1 port {petrel.pop3_port} protocol pop3\n"
        "  auth password timeout 20\n"
        '  user "alice@example.org" password "wrong"\n'
        '  sslproto ""\n'
        f"  mda \"/bin/sh -c 'cat > {outdir}/msg-$$'\"\n")
    os.chmod(rc, 0o600)
    r = subprocess.run(
        [FETCHMAIL, "-f", str(rc), "--nosyslog", "-v",
         "--pidfile", str(home / "fetchmail.pid")],
        env={"HOME": str(home), "FETCHMAILHOME": str(home),
             "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stdout + r.stderr  # PS_AUTHFAIL
    assert list(outdir.iterdir()) == []
    assert [f.read_bytes() for f in in_arrival_order(mail_files(petrel))]
