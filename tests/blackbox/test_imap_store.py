"""IMAP STORE (flags, keywords, .SILENT), COPY, MOVE and UIDPLUS
(COPYUID, APPENDUID, UID EXPUNGE), EXPUNGE, APPEND (flags, date,
literal forms), and what lands on disk: Maildir flag letters, copies
keeping their internal date."""

import re
from datetime import datetime, timedelta, timezone

from imaputil import deliver, fetch_items, message, session


def uidvalidity(c, mbox=b"INBOX"):
    u, _ = c.ok(b"STATUS " + mbox + b" (UIDVALIDITY)")
    return int(re.search(rb"UIDVALIDITY (\d+)", u[0]).group(1))


def test_store_flags_keywords_on_disk(petrel):
    deliver(petrel, [message("a"), message("b"), message("c")])
    c = session(petrel)
    u, _ = c.ok(b"STORE 1:2 +FLAGS (\\Seen \\Flagged $Forwarded Work)")
    items = fetch_items(u)
    assert items[1] == (b"* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent "
                        b"$Forwarded Work))")
    u, _ = c.ok(b"STORE 2 -FLAGS (\\Flagged Work)")
    assert u == [b"* 2 FETCH (FLAGS (\\Seen \\Recent $Forwarded))"]
    u, _ = c.ok(b"STORE 3 FLAGS (\\Answered \\Draft)")
    assert u == [b"* 3 FETCH (FLAGS (\\Answered \\Draft \\Recent))"]
    u, _ = c.ok(b"STORE 3 +FLAGS.SILENT (\\Deleted)")
    assert u == []
    u, _ = c.ok(b"UID STORE 1 FLAGS ()")
    assert u == [b"* 1 FETCH (UID 1 FLAGS (\\Recent))"]
    # New keywords show in FLAGS and PERMANENTFLAGS.
    _, _, u = c.cmd(b"SELECT INBOX")
    assert b"$Forwarded Work" in u[0]
    # The Maildir names carry the system flags.
    box = petrel.data_dir / "mail" / "example.org" / "alice" / "cur"
    infos = sorted(p.name.split(":2,")[1] for p in box.iterdir())
    assert infos == ["", "DRT", "S"]
    st, _, _ = c.cmd(b"STORE 1 +FLAGS (\\Recent)")
    assert st == b"BAD"
    c.close()


def test_copy_move_uidplus(petrel):
    deliver(petrel, [message("a"), message("b"), message("c")])
    c = session(petrel)
    c.ok(b"STORE 2 +FLAGS (\\Seen Tag1)")
    v_arch = uidvalidity(c, b"Archive")
    st, text, _ = c.cmd(b"COPY 2:3 Archive")
    assert st == b"OK"
    assert text.startswith(b"[COPYUID %d 2:3 1:2]" % v_arch), text
    st, text, _ = c.cmd(b"COPY 1 Nowhere")
    assert st == b"NO" and b"[TRYCREATE]" in text
    # The copy keeps flags, keywords and the internal date.
    d = session(petrel, select=b"Archive")
    u, _ = d.ok(b"FETCH 1 (FLAGS INTERNALDATE)")
    assert b"\\Seen" in u[0] and b"Tag1" in u[0]
    u0, _ = c.ok(b"FETCH 2 INTERNALDATE")
    assert u0[0].split(b"INTERNALDATE")[1] == u[0].split(b"INTERNALDATE")[1]
    # MOVE: COPYUID untagged, then EXPUNGE, then OK (RFC 6851).
    v_trash = uidvalidity(c, b"Trash")
    st, text, u = c.cmd(b"MOVE 1 Trash")
    assert st == b"OK"
    assert u[0] == b"* OK [COPYUID %d 1 1] Moved" % v_trash
    assert u[1] == b"* 1 EXPUNGE"
    st, _, u = c.cmd(b"UID MOVE 3 Trash")
    assert st == b"OK" and b"* 2 EXPUNGE" in u
    u, _ = c.ok(b"STATUS Trash (MESSAGES)")
    assert u == [b'* STATUS "Trash" (MESSAGES 2)']
    u, _ = c.ok(b"UID SEARCH ALL")
    assert u == [b"* SEARCH 2"]
    c.close()
    d.close()


def test_expunge_and_uid_expunge(petrel):
    deliver(petrel, [message(str(i)) for i in range(5)])
    c = session(petrel)
    c.ok(b"STORE 1,3,5 +FLAGS.SILENT (\\Deleted)")
    # UID EXPUNGE: only those of the set.
    st, _, u = c.cmd(b"UID EXPUNGE 3")
    assert st == b"OK" and u == [b"* 3 EXPUNGE"]
    st, _, u = c.cmd(b"EXPUNGE")
    # Sequence numbers shift with each EXPUNGE: 1 (was 1), then 3 (was 5).
    assert u == [b"* 1 EXPUNGE", b"* 3 EXPUNGE"]
    u, _ = c.ok(b"UID SEARCH ALL")
    assert u == [b"* SEARCH 2 4"]
    box = petrel.data_dir / "mail" / "example.org" / "alice"
    assert len(list((box / "cur").iterdir())) + \
        len(list((box / "new").iterdir())) == 2
    c.close()


def test_append_flags_date_and_appenduid(petrel):
    c = session(petrel, select=None)
    msg = b"From: me@example.org\r\nSubject: draft\r\n\r\nhello\r\n"
    v = uidvalidity(c, b"Drafts")
    st, text, _ = c.cmd(b'APPEND Drafts (\\Draft \\Seen Keep) '
                        b'"05-Jan-2021 10:11:12 +0100" {%d+}\r\n' % len(msg)
                        + msg)
    assert st == b"OK" and text == b"[APPENDUID %d 1] APPEND completed" % v
    c.ok(b"SELECT Drafts")
    u, _ = c.ok(b"FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    assert b"FLAGS (\\Seen \\Draft \\Recent Keep)" in u[0]
    assert b"RFC822.SIZE %d" % len(msg) in u[0]
    assert msg in u[0]
    # The date is kept as an instant (shown in the server's zone).
    m = re.search(rb'INTERNALDATE "([^"]+)"', u[0]).group(1).decode()
    got = datetime.strptime(m, "%d-%b-%Y %H:%M:%S %z")
    want = datetime(2021, 1, 5, 10, 11, 12,
                    tzinfo=timezone(timedelta(hours=1)))
    assert got.timestamp() == want.timestamp()
    # A synchronizing literal, to the selected mailbox: EXISTS before OK.
    c.send(b"a APPEND Drafts {%d}\r\n" % len(msg))
    assert c.response().startswith(b"+ ")
    c.send(msg + b"\r\n")
    st, text, u = c.wait(b"a")
    assert st == b"OK" and b"APPENDUID %d 2" % v in text
    assert b"* 2 EXISTS" in u
    # Bare LF lines are stored as CRLF.
    st, _, _ = c.cmd(b"APPEND INBOX {12+}\r\nSubject: x\n\n")
    assert st == b"OK"
    st, text, _ = c.cmd(b"APPEND Nowhere {1+}\r\nx")
    assert st == b"NO" and b"[TRYCREATE]" in text
    st, _, _ = c.cmd(b"APPEND INBOX (\\Recent) {1+}\r\nx")
    assert st == b"BAD"
    # A syntax error after the literal: nothing is stored.
    st, _, _ = c.cmd(b"APPEND INBOX {3+}\r\nabc extra")
    assert st == b"BAD"
    u, _ = c.ok(b"STATUS INBOX (MESSAGES)")
    assert u == [b'* STATUS "INBOX" (MESSAGES 1)']
    box = petrel.data_dir / "mail" / "example.org" / "alice"
    files = list((box / "new").iterdir()) + list((box / "cur").iterdir())
    assert [f.read_bytes() for f in files] == [b"Subject: x\r\n\r\n"]
    assert list((box / "tmp").iterdir()) == []
    c.close()
