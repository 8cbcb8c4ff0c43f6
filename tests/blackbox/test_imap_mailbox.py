"""IMAP mailbox commands: SELECT/EXAMINE responses, CREATE/DELETE/RENAME
(children, INBOX), SUBSCRIBE/LSUB, LIST with wildcards, LIST-EXTENDED,
SPECIAL-USE, CHILDREN, LIST-STATUS, STATUS, modified UTF-7 names, and the
Maildir++ folders on disk."""

import re

from imaputil import Imap, deliver, message, session


def names(untagged, verb=b"LIST"):
    out = {}
    for r in untagged:
        m = re.match(rb'\* ' + verb + rb' \(([^)]*)\) "\." (.*)$', r)
        if m:
            out[m.group(2).strip(b'"')] = set(m.group(1).split())
    return out


def test_select_examine_responses(petrel):
    deliver(petrel, [message("one"), message("two")])
    c = session(petrel, select=None)
    st, text, u = c.cmd(b"SELECT INBOX")
    assert st == b"OK" and text.startswith(b"[READ-WRITE]")
    assert u[0] == (b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
                    b"\\Draft)")
    assert u[1].startswith(b"* OK [PERMANENTFLAGS (\\Answered \\Flagged "
                           b"\\Deleted \\Seen \\Draft \\*)]")
    assert b"* 2 EXISTS" in u and b"* 2 RECENT" in u
    joined = b"\n".join(u)
    assert b"* OK [UNSEEN 1]" in joined
    assert re.search(rb"\* OK \[UIDVALIDITY \d+\]", joined)
    assert b"* OK [UIDNEXT 3]" in joined
    assert re.search(rb"\* OK \[HIGHESTMODSEQ \d+\]", joined)
    # A second session: the messages are not \Recent any more for it.
    d = session(petrel, select=None)
    st, text, u = d.cmd(b"EXAMINE inbox")  # INBOX in any case
    assert st == b"OK" and text.startswith(b"[READ-ONLY]")
    assert b"* 0 RECENT" in u
    assert any(r.startswith(b"* OK [PERMANENTFLAGS ()]") for r in u)
    st, text, _ = d.cmd(b"STORE 1 +FLAGS (\\Seen)")
    assert st == b"NO" and b"READ-ONLY" in text
    # EXAMINE does not set \Seen.
    d.ok(b"FETCH 1 BODY[]")
    u, _ = d.ok(b"FETCH 1 FLAGS")
    assert b"\\Seen" not in u[0]
    st, text, _ = d.cmd(b"SELECT Nonesuch")
    assert st == b"NO" and b"[NONEXISTENT]" in text
    # A failed SELECT leaves no mailbox selected.
    st, _, _ = d.cmd(b"FETCH 1 FLAGS")
    assert st == b"BAD"
    c.close()
    d.close()


def test_default_special_use_folders_and_list(petrel):
    c = session(petrel, select=None)
    u, _ = c.ok(b'LIST "" "*"')
    n = names(u)
    assert set(n) == {b"INBOX", b"Sent", b"Drafts", b"Trash", b"Junk",
                      b"Archive"}
    assert b"\\Sent" in n[b"Sent"] and b"\\Junk" in n[b"Junk"]
    assert b"\\Archive" in n[b"Archive"] and b"\\Trash" in n[b"Trash"]
    assert b"\\Drafts" in n[b"Drafts"]
    assert b"\\HasNoChildren" in n[b"INBOX"]
    box = petrel.data_dir / "mail" / "example.org" / "alice"
    for f in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert (box / ("." + f) / "cur").is_dir()
        assert (box / ("." + f) / "maildirfolder").exists()
    # The delimiter.
    u, _ = c.ok(b'LIST "" ""')
    assert u == [b'* LIST (\\Noselect) "." ""']
    # LIST (SPECIAL-USE): only those.
    u, _ = c.ok(b'LIST (SPECIAL-USE) "" "*"')
    assert set(names(u)) == {b"Sent", b"Drafts", b"Trash", b"Junk",
                             b"Archive"}
    # All subscribed by default.
    u, _ = c.ok(b'LSUB "" "*"')
    assert set(names(u, b"LSUB")) == set(n)
    c.close()


def test_create_delete_rename_hierarchy(petrel):
    c = session(petrel, select=None)
    c.ok(b"CREATE Work.Projects.2026")
    u, _ = c.ok(b'LIST "" "Work*"')
    n = names(u)
    assert set(n) == {b"Work", b"Work.Projects", b"Work.Projects.2026"}
    assert b"\\HasChildren" in n[b"Work"]
    assert b"\\HasNoChildren" in n[b"Work.Projects.2026"]
    u, _ = c.ok(b'LIST "" "Work.%"')
    assert set(names(u)) == {b"Work.Projects"}
    u, _ = c.ok(b'LIST "Work." "%"')  # reference + pattern
    assert set(names(u)) == {b"Work.Projects"}
    u, _ = c.ok(b'LIST "" "%"')
    assert b"Work.Projects" not in names(u)
    st, text, _ = c.cmd(b"CREATE Work")
    assert st == b"NO" and b"[ALREADYEXISTS]" in text
    st, text, _ = c.cmd(b"CREATE INBOX")
    assert st == b"NO"
    c.ok(b"CREATE Trailing.")  # trailing delimiter: "Trailing"
    u, _ = c.ok(b'LIST "" Trailing')
    assert set(names(u)) == {b"Trailing"}
    for bad in (b'"a..b"', b'".hidden"', b'"a/b"', b'"&Jjo!-"'):
        st, _, _ = c.cmd(b"CREATE " + bad)
        assert st == b"NO", bad
    # DELETE: not with children, then leaf first.
    st, text, _ = c.cmd(b"DELETE Work")
    assert st == b"NO" and b"[INUSE]" in text
    c.ok(b"DELETE Work.Projects.2026")
    st, text, _ = c.cmd(b"DELETE Work.Projects.2026")
    assert st == b"NO" and b"[NONEXISTENT]" in text
    st, _, _ = c.cmd(b"DELETE INBOX")
    assert st == b"NO"
    # RENAME takes the children.
    c.ok(b"CREATE Work.Projects.A")
    c.ok(b"RENAME Work Job")
    u, _ = c.ok(b'LIST "" "*"')
    n = names(u)
    assert b"Job.Projects.A" in n and b"Work" not in n
    st, text, _ = c.cmd(b"RENAME Job Sent")
    assert st == b"NO" and b"[ALREADYEXISTS]" in text
    st, _, _ = c.cmd(b"RENAME Job Job.Inside")
    assert st == b"NO"
    box = petrel.data_dir / "mail" / "example.org" / "alice"
    assert (box / ".Job.Projects.A" / "cur").is_dir()
    assert not (box / ".Work").exists()
    c.close()


def test_rename_inbox_moves_messages(petrel):
    deliver(petrel, [message("a"), message("b")])
    c = session(petrel, select=None)
    c.ok(b"RENAME INBOX Old")
    u, _ = c.ok(b"STATUS Old (MESSAGES)")
    assert u == [b'* STATUS "Old" (MESSAGES 2)']
    u, _ = c.ok(b"STATUS INBOX (MESSAGES)")
    assert u == [b'* STATUS "INBOX" (MESSAGES 0)']
    c.close()


def test_subscribe_lsub_and_list_extended(petrel):
    c = session(petrel, select=None)
    c.ok(b"CREATE Lists.Alpha")
    c.ok(b"CREATE Lists.Beta")
    c.ok(b"SUBSCRIBE Lists.Alpha")
    c.ok(b"SUBSCRIBE Ghost")  # allowed for names that do not exist
    c.ok(b"UNSUBSCRIBE Junk")
    u, _ = c.ok(b'LSUB "" "*"')
    n = names(u, b"LSUB")
    assert b"Lists.Alpha" in n and b"Lists.Beta" not in n
    assert b"Junk" not in n
    assert b"\\Noselect" in n[b"Ghost"]
    u, _ = c.ok(b'LIST (SUBSCRIBED) "" "*"')
    n = names(u)
    assert b"\\Subscribed" in n[b"Lists.Alpha"]
    assert b"\\NonExistent" in n[b"Ghost"]
    assert b"Lists.Beta" not in n
    # RECURSIVEMATCH: the parent of a subscribed child, with CHILDINFO.
    u, _ = c.ok(b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    assert any(b'"Lists" ("CHILDINFO" ("SUBSCRIBED"))' in r for r in u), u
    # RETURN (SUBSCRIBED CHILDREN), several patterns.
    u, _ = c.ok(b'LIST "" ("INBOX" "Lists.*") RETURN (SUBSCRIBED CHILDREN)')
    n = names(u)
    assert set(n) == {b"INBOX", b"Lists.Alpha", b"Lists.Beta"}
    assert b"\\Subscribed" in n[b"INBOX"]
    assert b"\\Subscribed" not in n[b"Lists.Beta"]
    c.close()


def test_status_and_list_status(petrel):
    deliver(petrel, [message("a"), message("b"), message("c")])
    c = session(petrel)
    c.ok(b"STORE 1 +FLAGS (\\Seen)")
    c.ok(b"COPY 1:2 Archive")
    u, _ = c.ok(b"STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY "
                b"HIGHESTMODSEQ SIZE RECENT)")
    m = re.match(rb'\* STATUS "INBOX" \(MESSAGES 3 RECENT (\d) UIDNEXT 4 '
                 rb'UIDVALIDITY \d+ UNSEEN 2 HIGHESTMODSEQ \d+ SIZE (\d+)\)',
                 u[0])
    assert m, u
    u, _ = c.ok(b"STATUS Archive (MESSAGES UNSEEN)")
    assert u == [b'* STATUS "Archive" (MESSAGES 2 UNSEEN 1)']
    st, text, _ = c.cmd(b"STATUS Nope (MESSAGES)")
    assert st == b"NO" and b"[NONEXISTENT]" in text
    # LIST-STATUS (RFC 5819): each STATUS right after its LIST line.
    u, _ = c.ok(b'LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))')
    i = u.index(b'* LIST (\\HasNoChildren \\Archive) "." "Archive"')
    assert u[i + 1] == b'* STATUS "Archive" (MESSAGES 2 UNSEEN 1)'
    assert b'* STATUS "INBOX" (MESSAGES 3 UNSEEN 2)' in u
    assert sum(1 for r in u if r.startswith(b"* STATUS")) == 6
    c.close()


def test_mutf7_names(petrel):
    c = session(petrel, select=None)
    # "Entwürfe" in modified UTF-7 (RFC 3501 §5.1.3).
    c.ok(b"CREATE Entw&APw-rfe")
    c.ok(b"CREATE &ZeVnLIqe-")
    u, _ = c.ok(b'LIST "" "*"')
    n = names(u)
    assert b"Entw&APw-rfe" in n and b"&ZeVnLIqe-" in n
    box = petrel.data_dir / "mail" / "example.org" / "alice"
    assert (box / ".Entw&APw-rfe" / "cur").is_dir()
    c.ok(b"SELECT Entw&APw-rfe")
    # Not modified UTF-7: refused.
    st, _, _ = c.cmd(b'CREATE "&AGE-"')
    assert st == b"NO"
    st, _, _ = c.cmd(b"CREATE {3}\r\n\xc3\xa9x")
    assert st == b"NO"
    c.close()


def test_delete_selected_elsewhere_ends_that_session(petrel):
    c = session(petrel, select=None)
    c.ok(b"CREATE Temp")
    d = session(petrel, select=b"Temp")
    c.ok(b"DELETE Temp")
    r = d.response()
    assert r.startswith(b"* BYE"), r
    assert d.closed()
    # And it is gone for good (not made again by a sync).
    u, _ = c.ok(b'LIST "" "*"')
    assert b"Temp" not in names(u)
    c.close()


def test_close_unselect_check(petrel):
    deliver(petrel, [message("a"), message("b")])
    c = session(petrel)
    c.ok(b"STORE 1 +FLAGS (\\Deleted)")
    c.ok(b"CHECK")
    c.ok(b"UNSELECT")  # does not expunge
    c.ok(b"SELECT INBOX")
    st, _, u = c.cmd(b"CLOSE")  # expunges, silently
    assert st == b"OK" and u == []
    st, _, _ = c.cmd(b"NOOP")
    c.ok(b"SELECT INBOX")
    u, _ = c.ok(b"STATUS INBOX (MESSAGES)")
    assert u == [b'* STATUS "INBOX" (MESSAGES 1)']
    c.close()
