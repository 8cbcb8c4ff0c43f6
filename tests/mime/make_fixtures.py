#!/usr/bin/env python3
"""
make_fixtures - run every corpus message (corpus.py) through a private
Dovecot (dovecot.py) and write what Dovecot's IMAP answers - RFC822.SIZE,
ENVELOPE, BODY, BODYSTRUCTURE, a set of BODY[section]s, and which
messages a set of SEARCH keys finds - as the C fixtures of
tests/unit/test_imap_bodystructure.c:

    python3 tests/mime/make_fixtures.py > tests/unit/imap_fixtures.inc

Strings are re-written the one way petrel writes them (quoted when the
octets allow, else a literal): Dovecot sometimes sends a literal where a
quoted string would do, which is the same string to any client. Any
other difference from Dovecot is a test failure, or listed in DIFFS
below with the reason petrel differs.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import dovecot  # noqa: E402

SECTIONS = [
    "", "HEADER", "TEXT", "1", "1.MIME", "2", "2.MIME", "3", "3.MIME",
    "1.1", "1.2", "2.1", "2.2", "1.1.1", "1.2.1", "1.2.2", "2.1.1",
    "1.HEADER", "1.TEXT", "2.HEADER", "2.TEXT", "2.1.MIME", "1.1.MIME",
    "1.1.HEADER", "1.1.TEXT", "2.1.HEADER",
    "HEADER.FIELDS (From Subject)", "HEADER.FIELDS.NOT (From Subject)",
    "HEADER.FIELDS (Content-Type)", "2.HEADER.FIELDS (Subject From)",
    "1.HEADER.FIELDS.NOT (Subject)", "99", "1.99", "4.1", "1.1.1.1",
    "2.2.1", "2.2.MIME", "2.2.HEADER", "2.2.TEXT", "2.2.1.MIME", "3.1",
    "3.HEADER", "3.TEXT", "3.1.MIME", "2.1.TEXT", "2.2.2", "2.2.1.1",
    "2.1.HEADER.FIELDS (Subject)",
]

# SEARCH CHARSET UTF-8 keys run over the whole corpus: which messages
# match must be the same in petrel (imap_msg_search) as in Dovecot.
SEARCHES = [
    ("BODY", None, "caf\u00e9"), ("BODY", None, "inner"),
    ("BODY", None, "subject"), ("BODY", None, "report"),
    ("BODY", None, "AAECAwQF"), ("BODY", None, "gr\u00fc\u00dfe"),
    ("BODY", None, "signed"), ("BODY", None, "hello"),
    ("BODY", None, "from:"), ("BODY", None, "VCALENDAR"),
    ("BODY", None, "plain"), ("BODY", None, "b\u00f6dy"),
    ("BODY", None, "bytes"), ("BODY", None, "BEGIN PGP"),
    ("BODY", None, "Reporting-MTA"), ("BODY", None, "JFIF"),
    ("BODY", None, "inline"), ("BODY", None, "IMG_0001"),
    ("BODY", None, "\u043f\u0440\u0438\u0432\u0435\u0442"),
    ("TEXT", None, "hello"), ("TEXT", None, "alice"),
    ("TEXT", None, "caf\u00e9"), ("TEXT", None, "content-type"),
    ("TEXT", None, "inner"), ("TEXT", None, "IMG_0001"),
    ("TEXT", None, "BEGIN PGP"),
    ("TEXT", None, "\u041f\u0420\u0418\u0412\u0415\u0422"),
    ("HEADER", "Subject", "caf\u00e9"), ("HEADER", "Subject", "hello"),
    ("HEADER", "From", "j\u00f6rg"), ("HEADER", "To", "bob"),
    ("HEADER", "Subject", ""), ("HEADER", "X-Empty", ""),
    ("HEADER", "Subject", "h\u00e9llo w\u00f6rld"),
    ("HEADER", "To", "\u5c71\u7530"),
    ("HEADER", "Subject", "\u65e5\u672c\u8a9e"),
    ("HEADER", "Cc", "group"), ("HEADER", "Content-Description", "caf\u00e9"),
    ("HEADER", "Message-ID", "example.org"), ("HEADER", "Bcc", ""),
]


def search(s, key, field, needle):
    """The sequence numbers Dovecot's SEARCH gives."""
    nb = needle.encode()
    k = key.encode() + (b" " + field.encode() if field else b"")
    tag = s.c._new_tag()
    s.c.send(tag + b" SEARCH CHARSET UTF-8 " + k + b" {%d}\r\n" % len(nb))
    s.c.readline()
    s.c.send(nb + b"\r\n")
    out = b""
    while True:
        line = s.c.readline()
        out += line
        if line.startswith(tag):
            break
    return sorted(int(x) for x in out.split(b"\r\n")[0].split()[2:])


# Where petrel deliberately differs from Dovecot: name -> {item: value}
# (the value petrel gives, with the reason in the comment).
DIFFS = {
    # An embedded message whose header is empty (its part's header
    # ended at a boundary, or its own empty line was taken by the
    # boundary): Dovecot's header stream runs on into the boundary's line
    # end and takes it for the empty line; petrel gives that line end to
    # the boundary (RFC 2046 §5.1.1) and the header stays empty.
    "rfc822-empty": {"BODY[1.HEADER.FIELDS.NOT (Subject)]": b""},
    "header-ends-at-boundary": {"BODY[1.HEADER.FIELDS.NOT (Subject)]": b""},
    # An embedded message with an empty body right before the boundary:
    # the line end before the boundary is the boundary's (RFC 2046
    # §5.1.1), so it is neither in the embedded header nor in the
    # message/rfc822 part's body. Dovecot takes it from the header but
    # leaves it in the part (size 14, BODY[1] with it, 1.HEADER without);
    # petrel keeps the part equal to its HEADER + TEXT.
    "rfc822-empty-body": {
        "BODY": b'(("message" "rfc822" NIL NIL NIL "7bit" 12 (NIL "x" NIL NIL'
                b' NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset"'
                b' "us-ascii") NIL NIL "7bit" 0 0) 1) "mixed")',
        "BODYSTRUCTURE": b'(("message" "rfc822" NIL NIL NIL "7bit" 12 (NIL'
                         b' "x" NIL NIL NIL NIL NIL NIL NIL NIL) ("text"'
                         b' "plain" ("charset" "us-ascii") NIL NIL "7bit" 0'
                         b' 0 NIL NIL NIL NIL) 1 NIL NIL NIL NIL) "mixed"'
                         b' ("boundary" "q") NIL NIL NIL)',
        "BODY[1]": b"Subject: x\r\n",
        "BODY[1.HEADER.FIELDS.NOT (Subject)]": b""},
    # "title*" (an extended value without sections) stays "title*";
    # Dovecot writes "title*1*" when continuations of another parameter
    # come before it.
    "params-star-mixed": {
        "BODY": b'("application" "x" ("a" "xy" "name*" "utf-8\'\'%C3%A9x.txt"'
                b' "title*" "us-ascii\'en\'hello%20w") NIL NIL "7bit" 1)',
        "BODYSTRUCTURE": b'("application" "x" ("a" "xy" "name*"'
                         b' "utf-8\'\'%C3%A9x.txt" "title*"'
                         b' "us-ascii\'en\'hello%20w") NIL NIL "7bit" 1 NIL'
                         b' NIL NIL NIL)'},
}


def crlf(m):
    """m with every bare LF as CRLF (what an IMAP server sends)."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", m)


def parse_value(b, i):
    """An IMAP value at b[i:]: (python value, next index)."""
    while b[i:i + 1] == b" ":
        i += 1
    c = b[i:i + 1]
    if c == b"(":
        i += 1
        out = []
        while True:
            while b[i:i + 1] == b" ":
                i += 1
            if b[i:i + 1] == b")":
                return ("list", out), i + 1
            v, i = parse_value(b, i)
            out.append(v)
    if c == b'"':
        i += 1
        s = bytearray()
        while b[i:i + 1] != b'"':
            if b[i:i + 1] == b"\\":
                i += 1
            s += b[i:i + 1]
            i += 1
        return ("str", bytes(s)), i + 1
    if c == b"{":
        m = re.match(rb"\{(\d+)\}\r\n", b[i:])
        n = int(m.group(1))
        i += m.end()
        return ("str", b[i:i + n]), i + n
    m = re.match(rb"[^ ()]+", b[i:])
    tok = m.group(0)
    if tok == b"NIL":
        return ("nil", None), i + m.end()
    return ("atom", tok), i + m.end()


def emit(v):
    kind, x = v
    if kind == "nil":
        return b"NIL"
    if kind == "atom":
        return x
    if kind == "str":
        if all(0 < c < 0x80 and c not in (13, 10) for c in x):
            return b'"' + x.replace(b"\\", b"\\\\").replace(b'"', b'\\"') \
                + b'"'
        return b"{%d}\r\n" % len(x) + x
    # a list of lists (addresses) has no spaces, as Dovecot writes it
    sep = b"" if x and all(e[0] == "list" for e in x) else b" "
    return b"(" + sep.join(emit(e) for e in x) + b")"


def emit_body(v):
    """A body: the parts of a multipart follow each other without a
    space (RFC 3501 body-type-mpart = 1*body SP media-subtype)."""
    kind, x = v
    if kind != "list":
        return emit(v)
    if x and x[0][0] == "list":
        n = 0
        while n < len(x) and x[n][0] == "list":
            n += 1
        rest = [emit(e) for e in x[n:]]
        return b"(" + b"".join(emit_body(c) for c in x[:n]) + b" " + \
            b" ".join(rest) + b")"
    out = []
    msg = (len(x) > 9 and x[0][0] == "str" and x[1][0] == "str" and
           x[0][1].lower() == b"message" and x[8][0] == "list")
    for j, e in enumerate(x):
        out.append(emit_body(e) if msg and j == 8 else emit(e))
    return b"(" + b" ".join(out) + b")"


def fetch_items(resp):
    """Items of one untagged FETCH response: {name: raw value}."""
    m = re.match(rb"\* \d+ FETCH \(", resp)
    i = m.end()
    items = {}
    while True:
        while resp[i:i + 1] == b" ":
            i += 1
        if resp[i:i + 1] == b")":
            return items
        m = re.match(rb"([A-Z0-9.]+(\[[^\]]*\])?(<\d+>)?)", resp[i:])
        name = m.group(1).decode()
        i += m.end()
        v, i = parse_value(resp, i)
        items[name] = v


def cstr(b):
    out = '"'
    col = 0
    for c in b:
        if c in (34, 92):
            out += "\\" + chr(c)
        elif 32 <= c < 127 and c != 63:
            out += chr(c)
        else:
            out += "\\%03o" % c
        col += 1
        if c == 10 and col > 1:
            out += '"\n\t    "'
    return out + '"'


def main():
    rows = []
    with dovecot.dovecot() as port:
        s = dovecot.Session(port)
        taken = []
        for name, m in corpus.CORPUS:
            if s.append(m) is None:
                sys.stderr.write("%s: Dovecot refuses it, skipped\n" % name)
            else:
                taken.append((name, m))
        s.select()
        for n, (name, m) in enumerate(taken, 1):
            items = ["RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE"]
            items += ["BODY.PEEK[%s]" % x for x in SECTIONS]
            items.append("BODY.PEEK[]")
            resp = s.fetch_raw(n, " ".join(items))
            got = fetch_items(resp.split(b"\r\n", 0)[0])
            stored = got["BODY[]"][1]
            if stored != crlf(m):
                # Dovecot rewrote it on APPEND (NUL -> 0x80, a lone CR
                # -> CRLF); petrel stores mail as it comes. Compare on
                # what Dovecot stored; the original bytes are covered by
                # test_mime_parse.
                sys.stderr.write("%s: Dovecot stores it changed\n" % name)
                m = stored
            size = int(got["RFC822.SIZE"][1])
            env = emit(got["ENVELOPE"])
            body = emit_body(got["BODY"])
            bs = emit_body(got["BODYSTRUCTURE"])
            secs = []
            for x in SECTIONS:
                key = "BODY[%s]" % x
                key = key.replace(" (", " (")
                val = None
                for k, v in got.items():
                    if k.upper() == key.upper():
                        val = v
                if val is None:
                    raise SystemExit("%s: no %s in %r" % (name, key, resp))
                v = val[1] if val[0] == "str" else b""
                secs.append((x, DIFFS.get(name, {}).get(key, v)))
            d = DIFFS.get(name, {})
            env = d.get("ENVELOPE", env)
            body = d.get("BODY", body)
            bs = d.get("BODYSTRUCTURE", bs)
            rows.append((name, m, size, env, body, bs, secs))
        found = [(k, f, n, search(s, k, f, n)) for k, f, n in SEARCHES]
        s.close()
    w = sys.stdout.write
    w("/* Generated by tests/mime/make_fixtures.py from Dovecot %s: do "
      "not edit. */\n" % os.popen("dovecot --version").read().strip())
    w("static const struct imap_fixture imap_fixtures[] = {\n")
    for name, m, size, env, body, bs, secs in rows:
        w("    {%s,\n\t%s,\n\t%d, %d,\n" % (cstr(name.encode()), cstr(m),
                                         len(m), size))
        w("\t%s,\n\t%s,\n\t%s},\n" % (cstr(env), cstr(body), cstr(bs)))
    w("};\n\n")
    w("static const struct imap_fixture_section imap_fixture_sections[] "
      "= {\n")
    for n, (name, m, size, env, body, bs, secs) in enumerate(rows):
        for x, v in secs:
            w("    {%d, %s, %s, %d},\n" % (n, cstr(x.encode()), cstr(v),
                                          len(v)))
    w("};\n\n")
    w("static const struct imap_fixture_search imap_fixture_searches[] = "
      "{\n")
    for k, f, n, seqs in found:
        w("    {%s, %s, %s, %s},\n" % (
            cstr(k.encode()), cstr(f.encode()) if f else "NULL",
            cstr(n.encode()), cstr(" ".join(str(q - 1) for q in seqs)
                                   .encode())))
    w("};\n")


if __name__ == "__main__":
    main()
