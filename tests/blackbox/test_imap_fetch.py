"""IMAP FETCH: every data item (FLAGS, INTERNALDATE, RFC822.SIZE,
ENVELOPE, BODY, BODYSTRUCTURE, BODY[section]<partial>, BODY.PEEK,
RFC822*, UID, MODSEQ), \\Seen set by BODY[], macros, UID FETCH, sequence
sets with *, byte-exact bodies of a multipart message and a big one."""

import re

from imaputil import deliver, fetch_items, message, session
from pop3util import arrival_key, mail_files

MULTI = (b"From: Carol <carol@example.net>\r\n"
         b"To: alice@example.org, Dave <dave@example.net>\r\n"
         b"Cc: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.net>\r\n"
         b"Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
         b"Date: Tue, 01 Dec 2026 08:30:00 +0100\r\n"
         b"Message-ID: <m1@example.net>\r\n"
         b"MIME-Version: 1.0\r\n"
         b'Content-Type: multipart/mixed; boundary="XX"\r\n'
         b"\r\n"
         b"preamble\r\n"
         b"--XX\r\n"
         b"Content-Type: text/plain; charset=utf-8\r\n"
         b"\r\n"
         b"first part\r\n"
         b"--XX\r\n"
         b"Content-Type: text/html\r\n"
         b"Content-Transfer-Encoding: base64\r\n"
         b"\r\n"
         b"PGI+aGk8L2I+\r\n"
         b"--XX--\r\n")


def stored(petrel):
    """The messages in UID order (arrival order of their names)."""
    files = sorted(mail_files(petrel), key=lambda p: arrival_key(p.name))
    return [p.read_bytes() for p in files]


def test_fetch_items_single_part(petrel):
    deliver(petrel, [message("one", "body one"), message("two", "body two")])
    raw = stored(petrel)
    c = session(petrel)
    u, _ = c.ok(b"FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)")
    items = fetch_items(u)
    assert set(items) == {1, 2}
    m = re.match(rb'\* 1 FETCH \(UID 1 FLAGS \(\\Recent\) RFC822.SIZE (\d+) '
                 rb'INTERNALDATE "(\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d [+-]\d{4})'
                 rb'"\)$', items[1])
    assert m, items[1]
    assert int(m.group(1)) == len(raw[0])
    u, _ = c.ok(b"FETCH 2 ENVELOPE")
    assert u[0] == (b'* 2 FETCH (ENVELOPE ("Fri, 04 Dec 2026 10:00:00 +0000"'
                    b' "two" (("Bob" NIL "bob" "example.net")) (("Bob" NIL '
                    b'"bob" "example.net")) (("Bob" NIL "bob" "example.net"))'
                    b' ((NIL NIL "alice" "example.org")) NIL NIL NIL NIL))')
    u, _ = c.ok(b"FETCH 1 (BODY BODYSTRUCTURE)")
    assert b'BODY ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit"' \
        in u[0]
    assert b"BODYSTRUCTURE (" in u[0]
    # The whole message, byte for byte, and without \Seen with PEEK.
    u, _ = c.ok(b"FETCH 1 BODY.PEEK[]")
    assert u[0] == (b"* 1 FETCH (BODY[] {%d}\r\n" % len(raw[0]) + raw[0] +
                    b")")
    u, _ = c.ok(b"FETCH 1 FLAGS")
    assert b"\\Seen" not in u[0]
    # Partial: the octets as sent, origin in the name.
    u, _ = c.ok(b"FETCH 1 BODY.PEEK[]<10.20>")
    assert u[0] == b"* 1 FETCH (BODY[]<10> {20}\r\n" + raw[0][10:30] + b")"
    u, _ = c.ok(b"FETCH 1 BODY.PEEK[]<100000.5>")
    assert u[0] == b"* 1 FETCH (BODY[]<100000> {0}\r\n)"
    # HEADER, TEXT, HEADER.FIELDS (case-blind), .NOT.
    head, _, text = raw[0].partition(b"\r\n\r\n")
    u, _ = c.ok(b"FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
    assert b"BODY[HEADER] {%d}\r\n" % (len(head) + 4) + head + b"\r\n\r\n" \
        in u[0]
    assert b"BODY[TEXT] {%d}\r\n" % len(text) + text in u[0]
    u, _ = c.ok(b"FETCH 1 BODY.PEEK[HEADER.FIELDS (subject FROM)]")
    want = b"From: Bob <bob@example.net>\r\nSubject: one\r\n\r\n"
    assert u[0] == (b'* 1 FETCH (BODY[HEADER.FIELDS ("subject" "FROM")] '
                    b'{%d}\r\n' % len(want) + want + b")")
    u, _ = c.ok(b"FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (Received Date To)]")
    assert b"Received:" not in u[0] and b"Subject: one" in u[0]
    # BODY[] sets \Seen, and the response says so.
    u, _ = c.ok(b"FETCH 2 BODY[TEXT]")
    assert u[0] == (b"* 2 FETCH (BODY[TEXT] {10}\r\nbody two\r\n FLAGS "
                    b"(\\Seen \\Recent))")
    # RFC822.* forms.
    u, _ = c.ok(b"FETCH 2 (RFC822.HEADER RFC822.TEXT)")
    assert b"RFC822.HEADER {" in u[0] and b"RFC822.TEXT {10}" in u[0]
    u, _ = c.ok(b"FETCH 1 RFC822")
    assert u[0].startswith(b"* 1 FETCH (RFC822 {%d}\r\n" % len(raw[0]))
    assert b"FLAGS (\\Seen" in u[0]
    # Macros.
    u, _ = c.ok(b"FETCH 1 FAST")
    assert re.match(rb"\* 1 FETCH \(FLAGS \(.*\) INTERNALDATE .* RFC822.SIZE"
                    rb" \d+\)", u[0])
    u, _ = c.ok(b"FETCH 1 FULL")
    assert b"ENVELOPE" in u[0] and b" BODY (" in u[0]
    # UID FETCH adds UID; a UID set past the end matches the last one.
    u, _ = c.ok(b"UID FETCH 2:* FLAGS")
    assert u == [b"* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent))"]
    u, _ = c.ok(b"UID FETCH 5:* FLAGS")
    assert u == [b"* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent))"]
    u, _ = c.ok(b"UID FETCH 3:4 FLAGS")
    assert u == []
    st, _, _ = c.cmd(b"FETCH 3 FLAGS")  # beyond EXISTS
    assert st == b"BAD"
    u, _ = c.ok(b"FETCH *:1 UID")
    assert len(u) == 2
    c.close()


def test_fetch_multipart_sections(petrel):
    deliver(petrel, [MULTI])
    raw = stored(petrel)[0]
    c = session(petrel)
    u, _ = c.ok(b"FETCH 1 ENVELOPE")
    assert b'"=?UTF-8?B?R3LDvMOfZQ==?="' in u[0]
    assert b'("Dave" NIL "dave" "example.net")' in u[0]
    assert b'"<m1@example.net>"' in u[0]
    u, _ = c.ok(b"FETCH 1 BODYSTRUCTURE")
    assert u[0].startswith(b'* 1 FETCH (BODYSTRUCTURE (("text" "plain" '
                           b'("charset" "utf-8") NIL NIL "7bit" 10 ')
    assert b'("text" "html" ("charset" "us-ascii") NIL NIL "base64" 12 ' \
        in u[0]
    assert b'"mixed" ("boundary" "XX")' in u[0]
    u, _ = c.ok(b"FETCH 1 (BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] "
                b"BODY.PEEK[3])")
    r = u[0]
    assert b"BODY[1] {10}\r\nfirst part" in r
    assert b"BODY[2] {12}\r\nPGI+aGk8L2I+" in r
    assert b"BODY[2.MIME] {" in r and b"Content-Transfer-Encoding: base64" \
        in r
    assert b'BODY[3] ""' in r  # no such part: empty
    u, _ = c.ok(b"FETCH 1 BODY.PEEK[TEXT]<0.8>")
    assert u[0] == b"* 1 FETCH (BODY[TEXT]<0> {8}\r\npreamble)"
    u, _ = c.ok(b"FETCH 1 BODY.PEEK[]")
    assert raw in u[0]
    c.close()


def test_fetch_big_message_and_many(petrel):
    # A 3 MB message streams byte-exactly; then 200 small ones in one
    # FETCH 1:* (the output pauses when full, resumes when drained).
    big = message("big", "x" * 1000 + "\r\n" + ("y" * 998 + "\r\n") * 3000)
    deliver(petrel, [big] + [message("m%d" % i) for i in range(200)])
    raw = stored(petrel)
    c = session(petrel)
    u, _ = c.ok(b"FETCH 1 BODY.PEEK[]")
    assert u[0] == (b"* 1 FETCH (BODY[] {%d}\r\n" % len(raw[0]) + raw[0] +
                    b")")
    u, _ = c.ok(b"FETCH 1:* (UID RFC822.SIZE BODY.PEEK[])")
    items = fetch_items(u)
    assert len(items) == 201
    for i in (2, 100, 201):
        assert items[i].endswith(raw[i - 1] + b")")
    u, _ = c.ok(b"FETCH 1:* (FLAGS ENVELOPE)")
    assert len(fetch_items(u)) == 201
    assert b'"m199"' in u[-1]
    c.close()


def test_fetch_bare_lf_message_sent_as_crlf(petrel):
    # A file another program put in the Maildir with LF line ends: sent
    # with CRLF, and the size says so.
    box = petrel.data_dir / "mail" / "example.org" / "alice"
    (box / "new").mkdir(parents=True, exist_ok=True)
    (box / "new" / "1700000000.M1P1.lf").write_bytes(
        b"Subject: lf\n\nline one\nline two\n")
    c = session(petrel)
    u, _ = c.ok(b"FETCH 1 (RFC822.SIZE BODY.PEEK[TEXT] BODY.PEEK[HEADER])")
    assert b"BODY[TEXT] {20}\r\nline one\r\nline two\r\n" in u[0]
    assert b"BODY[HEADER] {15}\r\nSubject: lf\r\n\r\n" in u[0]
    c.close()
