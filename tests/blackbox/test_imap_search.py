"""IMAP SEARCH: every RFC 3501 key (flags, keywords, dates, sizes, UIDs,
sequence sets, header and body text with RFC 2047 and transfer encodings
decoded, OR/NOT/parentheses), CHARSET, ESEARCH (RFC 4731) and SEARCHRES
(RFC 5182)."""

from imaputil import deliver, message, session


def search(c, crit, uid=False):
    u, _ = c.ok((b"UID SEARCH " if uid else b"SEARCH ") + crit)
    line = [r for r in u if r.startswith(b"* SEARCH")]
    assert len(line) == 1, u
    return [int(x) for x in line[0].split()[2:] if x.isdigit()]


QP = (b"From: =?ISO-8859-1?Q?J=F6rg?= <joerg@example.net>\r\n"
      b"To: alice@example.org\r\nCc: team@example.net\r\n"
      b"Bcc: secret@example.net\r\n"
      b"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
      b"Date: Sun, 01 Mar 2020 23:30:00 -0500\r\n"
      b"X-Priority: 1\r\nMIME-Version: 1.0\r\n"
      b"Content-Type: text/plain; charset=iso-8859-1\r\n"
      b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
      b"Sch=F6ne Gr=FC=DFe\r\n")


def test_search_keys(petrel):
    deliver(petrel, [message("alpha", "the quick brown fox"),
                     message("beta", "lazy dog", sender="carol@example.net"),
                     QP,
                     message("gamma", "x" * 5000)])
    c = session(petrel)
    c.ok(b"STORE 1 +FLAGS (\\Seen \\Answered)")
    c.ok(b"STORE 2 +FLAGS (\\Flagged \\Deleted Urgent)")
    c.ok(b"STORE 4 +FLAGS (\\Draft)")
    assert search(c, b"ALL") == [1, 2, 3, 4]
    assert search(c, b"SEEN") == [1]
    assert search(c, b"UNSEEN") == [2, 3, 4]
    assert search(c, b"ANSWERED") == [1]
    assert search(c, b"UNANSWERED") == [2, 3, 4]
    assert search(c, b"FLAGGED DELETED") == [2]
    assert search(c, b"UNFLAGGED UNDELETED") == [1, 3, 4]
    assert search(c, b"DRAFT") == [4]
    assert search(c, b"UNDRAFT") == [1, 2, 3]
    assert search(c, b"KEYWORD Urgent") == [2]
    assert search(c, b"KEYWORD Unknown") == []
    assert search(c, b"UNKEYWORD Urgent") == [1, 3, 4]
    assert search(c, b"RECENT") == [1, 2, 3, 4]
    assert search(c, b"NEW") == [2, 3, 4]
    assert search(c, b"OLD") == []
    assert search(c, b"LARGER 1000") == [4]
    assert search(c, b"SMALLER 1000") == [1, 2, 3]
    assert search(c, b"2:3") == [2, 3]
    assert search(c, b"*") == [4]
    assert search(c, b"UID 3:*") == [3, 4]
    assert search(c, b"UID 3:*", uid=True) == [3, 4]
    assert search(c, b"NOT 1:2") == [3, 4]
    assert search(c, b"OR SEEN FLAGGED") == [1, 2]
    assert search(c, b"(SEEN) (ANSWERED)") == [1]
    assert search(c, b"NOT (OR SEEN (OR FLAGGED DRAFT))") == [3]
    assert search(c, b"NOT (SEEN OR FLAGGED DRAFT)") == [1, 2, 3, 4]
    # Header keys, case-blind substrings, RFC 2047 decoded.
    assert search(c, b"SUBJECT beta") == [2]
    assert search(c, b"SUBJECT BETA") == [2]
    assert search(c, b"FROM carol") == [2]
    assert search(c, b"FROM example.net") == [1, 2, 3, 4]
    assert search(c, b"TO alice") == [1, 2, 3, 4]
    assert search(c, b"CC team") == [3]
    assert search(c, b"BCC secret") == [3]
    assert search(c, b"HEADER X-Priority 1") == [3]
    assert search(c, b'HEADER X-Priority ""') == [3]
    assert search(c, b"CHARSET UTF-8 FROM {5}\r\nJ\xc3\xb6rg") == [3]
    assert search(c, b"CHARSET UTF-8 SUBJECT {5}\r\nk\xc3\xb6ln") == [3]
    # Body: decoded transfer encoding and charset.
    assert search(c, b"BODY fox") == [1]
    assert search(c, b"BODY {6}\r\nGr\xc3\xbc\xc3\x9f") == [3]
    assert search(c, b"TEXT lazy") == [2]
    assert search(c, b"TEXT carol") == [2]  # header text counts
    assert search(c, b"BODY nothing-like-this") == []
    # Dates: the Date: header's own day (23:30 -0500 is 1 Mar there).
    assert search(c, b"SENTON 1-Mar-2020") == [3]
    assert search(c, b"SENTBEFORE 2-Mar-2020") == [3]
    assert search(c, b"SENTSINCE 1-Dec-2026") == [1, 2, 4]
    assert search(c, b"SINCE 1-Jan-2000") == [1, 2, 3, 4]
    assert search(c, b"BEFORE 1-Jan-2000") == []
    assert search(c, b"YOUNGER 3600") == [1, 2, 3, 4]
    assert search(c, b"OLDER 3600") == []
    st, text, _ = c.cmd(b"SEARCH CHARSET KOI8-R ALL")
    assert st == b"NO" and b"[BADCHARSET" in text
    st, _, _ = c.cmd(b"SEARCH FROBNICATE")
    assert st == b"BAD"
    c.close()


def test_esearch_and_searchres(petrel):
    deliver(petrel, [message(str(i)) for i in range(6)])
    c = session(petrel)
    c.ok(b"STORE 2,4:5 +FLAGS (\\Seen)")
    st, _, u = c.cmd(b"SEARCH RETURN (MIN MAX COUNT ALL) SEEN", tag=b"e1")
    assert u == [b'* ESEARCH (TAG "e1") MIN 2 MAX 5 COUNT 3 ALL 2,4:5']
    st, _, u = c.cmd(b"UID SEARCH RETURN () UNSEEN", tag=b"e2")
    assert u == [b'* ESEARCH (TAG "e2") UID ALL 1,3,6']
    st, _, u = c.cmd(b"SEARCH RETURN (COUNT) DELETED", tag=b"e3")
    assert u == [b'* ESEARCH (TAG "e3") COUNT 0']
    # SAVE alone answers nothing; "$" then names the result.
    u, _ = c.ok(b"SEARCH RETURN (SAVE) SEEN")
    assert u == []
    u, _ = c.ok(b"FETCH $ UID")
    assert len(u) == 3
    u, _ = c.ok(b"UID SEARCH $ NOT 4")
    assert u == [b"* SEARCH 2 5"]
    c.ok(b"STORE $ +FLAGS (\\Flagged)")
    assert search(c, b"FLAGGED") == [2, 4, 5]
    c.close()
