"""IMAP sessions sharing a folder: changes seen at NOOP and IDLE and at the
ends of commands (never an EXPUNGE during a command by sequence number),
IDLE woken by SMTP delivery within a second, POP3 and IMAP seeing each
other's deletions, changes made by another program to the Maildir,
CONDSTORE and QRESYNC, COMPRESS=DEFLATE, and QUOTA with delivery
refused over quota."""

import re
import smtplib
import time
import zlib

from imaputil import Imap, deliver, fetch_items, message, session, wait_for
from pop3util import Pop


def idle(c):
    c.send(b"i IDLE\r\n")
    assert c.response() == b"+ idling"


def done(c):
    c.send(b"DONE\r\n")
    st, _, u = c.wait(b"i")
    assert st == b"OK"
    return u


def test_two_sessions_see_each_other(petrel):
    deliver(petrel, [message(str(i)) for i in range(3)])
    a = session(petrel)
    b = session(petrel)
    a.ok(b"STORE 1 +FLAGS (\\Flagged)")
    u, _ = b.ok(b"NOOP")
    assert u == [b"* 1 FETCH (FLAGS (\\Flagged))"]
    # No EXPUNGE at the end of FETCH by sequence number: the sequence
    # numbers the client holds stay right until a command that may.
    a.ok(b"STORE 2 +FLAGS.SILENT (\\Deleted)")
    a.ok(b"EXPUNGE")
    u, _ = b.ok(b"FETCH 1:3 UID")
    assert [r for r in u if b"EXPUNGE" in r] == []
    assert len(fetch_items(u)) == 3
    u, _ = b.ok(b"NOOP")
    assert b"* 2 EXPUNGE" in u
    # New mail: EXISTS at NOOP.
    deliver(petrel, [message("new")])
    u = wait_for(lambda: [r for r in b.ok(b"NOOP")[0] if b"EXISTS" in r])
    assert u == [b"* 3 EXISTS"]
    # UID FETCH may carry EXPUNGEs.
    a.ok(b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    a.ok(b"EXPUNGE")
    u, _ = b.ok(b"UID FETCH 1:* FLAGS")
    assert b"* 1 EXPUNGE" in u
    a.close()
    b.close()


def test_idle_woken_by_smtp_within_a_second(petrel):
    deliver(petrel, [message("first")])
    c = session(petrel)
    idle(c)
    s = smtplib.SMTP("127.0.0.1", petrel.port, timeout=10)
    t0 = time.time()
    s.sendmail("bob@example.net", ["alice@example.org"], message("wake"))
    r = c.response()
    dt = time.time() - t0
    assert r == b"* 2 EXISTS", r
    assert dt < 1.0, dt
    assert c.response() == b"* 2 RECENT"
    s.quit()
    # Another session's flag change reaches the idler too.
    d = session(petrel)
    d.ok(b"STORE 1 +FLAGS (\\Seen)")
    assert c.response() == b"* 1 FETCH (FLAGS (\\Seen \\Recent))"
    d.ok(b"STORE 2 +FLAGS.SILENT (\\Deleted)")
    assert c.response() == b"* 2 FETCH (FLAGS (\\Deleted \\Recent))"
    d.ok(b"EXPUNGE")
    assert c.response() == b"* 2 EXPUNGE"
    assert done(c) == []
    d.close()
    c.close()


def test_many_idlers_each_woken(petrel_factory):
    users = ["u%d" % i for i in range(20)]
    p = petrel_factory(users=users)
    cs = []
    for u in users:
        c = Imap(p.imaps_port, implicit_tls=True)
        c.login(u.encode() + b"@example.org")
        c.ok(b"SELECT INBOX")
        idle(c)
        cs.append(c)
    s = smtplib.SMTP("127.0.0.1", p.port, timeout=10)
    t0 = time.time()
    for u in users:
        s.sendmail("bob@example.net", [u + "@example.org"],
                   message("to " + u, to=u + "@example.org"))
    for c in cs:
        assert c.response() == b"* 1 EXISTS"
    assert time.time() - t0 < 5
    s.quit()
    for c in cs:
        c.close()


def test_pop3_and_imap_see_each_others_deletions(petrel):
    deliver(petrel, [message(str(i)) for i in range(3)])
    c = session(petrel)
    # POP3 deletes message 1 at QUIT: the IMAP session hears EXPUNGE.
    p = Pop(petrel.pop3_port)
    p.login()
    assert p.cmd(b"DELE 1").startswith(b"+OK")
    p.quit()
    u = wait_for(lambda: [r for r in c.ok(b"NOOP")[0] if b"EXPUNGE" in r])
    assert u == [b"* 1 EXPUNGE"]
    # IMAP expunges one: POP3 does not list it next time.
    c.ok(b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.ok(b"EXPUNGE")
    p = Pop(petrel.pop3_port)
    p.login()
    assert p.stat()[0] == 1
    p.quit()
    c.close()


def test_changes_by_another_program(petrel):
    deliver(petrel, [message("a"), message("b")])
    c = session(petrel)
    idle(c)
    box = petrel.data_dir / "mail" / "example.org" / "alice"
    # A file moved to cur/ with flags (another Maildir reader).
    f = next((box / "new").iterdir())
    (f).rename(box / "cur" / (f.name + ":2,FS"))
    r = c.response()
    assert re.match(rb"\* [12] FETCH \(FLAGS \(\\Flagged \\Seen "
                    rb"\\Recent\)\)", r), r
    # A file removed.
    g = next(p for p in (box / "new").iterdir())
    g.unlink()
    assert c.response().endswith(b" EXPUNGE")
    done(c)
    c.close()


def test_condstore(petrel):
    deliver(petrel, [message(str(i)) for i in range(3)])
    c = session(petrel, select=None)
    st, _, u = c.cmd(b"SELECT INBOX (CONDSTORE)")
    hm = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"".join(u)).group(1))
    u, _ = c.ok(b"FETCH 1:* (FLAGS MODSEQ)")
    mods = [int(re.search(rb"MODSEQ \((\d+)\)", r).group(1)) for r in u]
    assert max(mods) == hm
    u, _ = c.ok(b"STORE 2 +FLAGS (\\Seen)")
    m2 = int(re.search(rb"MODSEQ \((\d+)\)", u[0]).group(1))
    assert m2 > hm
    u, _ = c.ok(b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hm)
    assert len(u) == 1 and u[0].startswith(b"* 2 FETCH")
    u, _ = c.ok(b"SEARCH MODSEQ %d" % (hm + 1))
    assert u == [b"* SEARCH 2 (MODSEQ %d)" % m2]
    # UNCHANGEDSINCE: message 2 changed since hm, so it is left alone.
    st, text, u = c.cmd(b"STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)"
                        % hm)
    assert st == b"OK" and text.startswith(b"[MODIFIED 2]"), text
    assert len(u) == 1 and u[0].startswith(b"* 1 FETCH")
    u, _ = c.ok(b"STATUS INBOX (HIGHESTMODSEQ)")
    assert b"HIGHESTMODSEQ" in u[0]
    # MODSEQs survive a restart.
    u, _ = c.ok(b"FETCH 1:* (MODSEQ)")
    c.close()
    petrel.stop()
    petrel.start()
    d = session(petrel)
    u2, _ = d.ok(b"FETCH 1:* (MODSEQ)")
    assert u2 == u
    d.close()


def test_qresync(petrel):
    deliver(petrel, [message(str(i)) for i in range(5)])
    c = session(petrel, select=None)
    c.ok(b"ENABLE QRESYNC")
    _, _, u = c.cmd(b"SELECT INBOX")
    joined = b"".join(u)
    uv = int(re.search(rb"UIDVALIDITY (\d+)", joined).group(1))
    hm = int(re.search(rb"HIGHESTMODSEQ (\d+)", joined).group(1))
    c.ok(b"STORE 2 +FLAGS (\\Seen)")
    c.ok(b"STORE 3:4 +FLAGS.SILENT (\\Deleted)")
    st, _, u = c.cmd(b"EXPUNGE")
    # With QRESYNC, VANISHED instead of EXPUNGE (RFC 7162 §3.2.10).
    assert u == [b"* VANISHED 3:4"], u
    c.ok(b"UNSELECT")
    _, _, u = c.cmd(b"SELECT INBOX (QRESYNC (%d %d 1:5))" % (uv, hm))
    assert b"* VANISHED (EARLIER) 3:4" in u, u
    fetches = [r for r in u if b"FETCH" in r]
    assert len(fetches) == 1 and b"UID 2 " in fetches[0] \
        and b"\\Seen" in fetches[0]
    u, _ = c.ok(b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % hm)
    assert u[0] == b"* VANISHED (EARLIER) 3:4"
    # A wrong UIDVALIDITY: nothing to resync from.
    c.ok(b"UNSELECT")
    _, _, u = c.cmd(b"SELECT INBOX (QRESYNC (%d %d))" % (uv + 1, hm))
    assert not any(b"VANISHED" in r for r in u)
    st, _, _ = c.cmd(b"SELECT INBOX (QRESYNC (1 1))")
    c.close()
    d = session(petrel, select=None)
    st, _, _ = d.cmd(b"SELECT INBOX (QRESYNC (%d 1))" % uv)
    assert st == b"BAD"  # not ENABLEd
    d.close()


class Deflated:
    """The two directions of COMPRESS=DEFLATE over an Imap connection."""

    def __init__(self, c):
        self.c = c
        self.out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inf = zlib.decompressobj(-15)
        c.send_plain = c.send
        c.send = self.send
        c._fill = self.fill

    def send(self, data):
        self.c.send_plain(self.out.compress(data) +
                          self.out.flush(zlib.Z_SYNC_FLUSH))

    def fill(self):
        chunk = self.c.sock.recv(1 << 20)
        if not chunk:
            raise EOFError
        self.c.buf += self.inf.decompress(chunk)


def test_compress_deflate(petrel):
    deliver(petrel, [message("compressed %d" % i, "z" * 2000)
                     for i in range(20)])
    c = session(petrel, select=None)
    st, text, _ = c.cmd(b"COMPRESS DEFLATE")
    assert st == b"OK"
    Deflated(c)
    c.ok(b"SELECT INBOX")
    u, _ = c.ok(b"FETCH 1:* (ENVELOPE BODY.PEEK[])")
    assert len(fetch_items(u)) == 20
    assert b"z" * 2000 in u[-1]
    u, _ = c.ok(b"CAPABILITY")
    assert b"COMPRESS=DEFLATE" not in u[0]
    st, text, _ = c.cmd(b"COMPRESS DEFLATE")
    assert st == b"NO" and b"COMPRESSIONACTIVE" in text
    # IDLE through compression.
    idle(c)
    deliver(petrel, [message("late")])
    assert c.response() == b"* 21 EXISTS"
    c.close()


def test_quota(petrel):
    petrel.cli("user", "quota", "alice@example.org", "3k")
    deliver(petrel, [message("one", "a" * 1000)])
    c = session(petrel, select=None)
    u, _ = c.ok(b"GETQUOTAROOT INBOX")
    assert u[0] == b'* QUOTAROOT "INBOX" ""'
    m = re.match(rb'\* QUOTA "" \(STORAGE (\d+) 3\)', u[1])
    assert m and int(m.group(1)) == 2, u
    u, _ = c.ok(b'GETQUOTA ""')
    assert u[0].startswith(b'* QUOTA "" (STORAGE')
    st, text, _ = c.cmd(b'SETQUOTA "" (STORAGE 100)')
    assert st == b"NO"
    # APPEND that does not fit: [OVERQUOTA].
    big = b"x" * 3000
    st, text, _ = c.cmd(b"APPEND INBOX {%d+}\r\n" % len(big) + big)
    assert st == b"NO" and b"[OVERQUOTA]" in text
    # SMTP: a SIZE that would not fit is 552 5.2.2 at RCPT...
    s = smtplib.SMTP("127.0.0.1", petrel.port, timeout=10)
    s.ehlo()
    s.mail("bob@example.net", ["SIZE=3000"])
    code, msg = s.rcpt("alice@example.org")
    assert code == 552 and msg.startswith(b"5.2.2"), (code, msg)
    s.rset()
    # ... mail that fits is delivered ...
    s.sendmail("bob@example.net", ["alice@example.org"],
               message("two", "b" * 1000))
    # ... and so is one that arrives while there is room but turns out
    # too big without having said so (nothing is lost half-way) ...
    s.mail("bob@example.net")
    assert s.rcpt("alice@example.org")[0] == 250
    assert s.data(message("three", "c" * 1500))[0] == 250
    # ... and once it is full, RCPT gets 452 4.2.2; other users still
    # get theirs.
    s.mail("bob@example.net")
    code, msg = s.rcpt("alice@example.org")
    assert code == 452 and msg.startswith(b"4.2.2"), (code, msg)
    code, _ = s.rcpt("bob@example.org")
    assert code == 250
    s.quit()
    # Making room (EXPUNGE) lets mail in again.
    c.ok(b"SELECT INBOX")
    c.ok(b"STORE 1:* +FLAGS.SILENT (\\Deleted)")
    c.ok(b"EXPUNGE")
    s = smtplib.SMTP("127.0.0.1", petrel.port, timeout=10)
    s.sendmail("bob@example.net", ["alice@example.org"], message("four"))
    s.quit()
    assert len(petrel.mailbox("alice")) == 1
    c.close()
