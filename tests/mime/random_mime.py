"""
random_mime - random but plausible MIME messages for dovecot_diff.py:
nested multiparts (some unterminated), digests, message/rfc822, every
Content-* field, RFC 2231 and 2047 values, address lists with groups,
comments, routes and 8-bit names, folded headers, LF or CRLF line ends.
gen(seed) is deterministic.
"""
import random
WORDS = ["alpha", "beta", "caf\u00e9", "gr\u00fc\u00dfe", "\u043f\u0440\u0438\u0432\u0435\u0442", "x", "Hello", "=?utf-8?q?caf=C3=A9?=", "=?iso-8859-1?b?6Q==?="]
TYPES = ["text/plain", "text/html", "application/pdf", "image/png", "application/octet-stream", "TEXT/Plain", "text/x-foo"]
CTES = ["7bit", "8bit", "base64", "quoted-printable", "BASE64", None, "binary", "x-uuencode"]
def addr(r):
    k = r.randrange(8)
    local = r.choice(["a", "bob", "x.y", "\"quoted local\"", "o'hara"])
    dom = r.choice(["example.org", "ex.com", "[1.2.3.4]", "sub.example.net"])
    name = " ".join(r.choice(WORDS) for _ in range(r.randrange(1, 3)))
    if k == 0: return "%s@%s" % (local, dom)
    if k == 1: return "%s <%s@%s>" % (name, local, dom)
    if k == 2: return "\"%s\" <%s@%s>" % (name.replace('"', ''), local, dom)
    if k == 3: return "%s@%s (%s)" % (local, dom, name)
    if k == 4: return "<%s@%s>" % (local, dom)
    if k == 5: return "grp: %s@%s, %s <%s@%s>;" % (local, dom, name, local, dom)
    if k == 6: return "undisclosed-recipients:;"
    return "%s <@r.example:%s@%s>" % (name, local, dom)
def addrlist(r):
    return ", ".join(addr(r) for _ in range(r.randrange(1, 4)))
def params(r, text):
    out = []
    if text and r.random() < 0.7:
        out.append("charset=" + r.choice(["utf-8", "\"iso-8859-1\"", "us-ascii", "UTF-8"]))
    for _ in range(r.randrange(0, 3)):
        k = r.randrange(5)
        if k == 0: out.append("name=\"%s.txt\"" % r.choice(WORDS))
        elif k == 1: out.append("format=flowed")
        elif k == 2: out.append("name*=utf-8''%C3%A9t%C3%A9.pdf")
        elif k == 3: out.append("title*0=\"a b\"; title*1=c")
        else: out.append("x-unix-mode=0644")
    return "".join("; " + p for p in out)
def part(r, depth, lines, boundary_seq):
    k = r.randrange(10) if depth < 4 else 0
    h = []
    if k < 6:
        t = r.choice(TYPES)
        text = t.lower().startswith("text")
        if r.random() < 0.9:
            h.append("Content-Type: %s%s" % (t, params(r, text)))
        cte = r.choice(CTES)
        if cte: h.append("Content-Transfer-Encoding: " + cte)
        if r.random() < 0.3: h.append("Content-Disposition: %s; filename=\"%s\"" % (r.choice(["attachment", "inline", "Attachment"]), r.choice(WORDS)))
        if r.random() < 0.2: h.append("Content-ID: <%d@x>" % r.randrange(100))
        if r.random() < 0.2: h.append("Content-Description: " + r.choice(WORDS))
        if r.random() < 0.1: h.append("Content-Language: en, de")
        if r.random() < 0.1: h.append("Content-Location: http://x/" + r.choice(WORDS))
        if r.random() < 0.1: h.append("Content-MD5: Q2hlY2s=")
        body = [" ".join(r.choice(WORDS) for _ in range(r.randrange(0, 8))) for _ in range(r.randrange(0, 5))]
        return h, body
    if k < 9:
        b = "b%d-%d" % (depth, next(boundary_seq))
        st = r.choice(["mixed", "alternative", "related", "digest", "signed", "MIXED"])
        h.append("Content-Type: multipart/%s; boundary=%s" % (st, r.choice(['"%s"' % b, b])))
        body = []
        if r.random() < 0.3: body.append("preamble text")
        for _ in range(r.randrange(0, 4)):
            body.append("--" + b)
            if st == "digest" and r.random() < 0.6:
                sub = message(r, depth + 1, boundary_seq)
                body += [""] + sub
            else:
                ph, pb = part(r, depth + 1, lines, boundary_seq)
                body += ph + [""] + pb
        if r.random() < 0.9:
            body.append("--" + b + "--")
            if r.random() < 0.3: body.append("epilogue")
        return h, body
    h.append("Content-Type: message/rfc822")
    return h, message(r, depth + 1, boundary_seq)
def message(r, depth, boundary_seq):
    h = []
    for f, gen in [("Date", lambda: r.choice(["Mon, 1 Jan 2024 10:00:00 +0100", "1 Jan 24 10:00 EST", "garbage"])),
                   ("From", lambda: addrlist(r)), ("Sender", lambda: addr(r)), ("Reply-To", lambda: addrlist(r)),
                   ("To", lambda: addrlist(r)), ("Cc", lambda: addrlist(r)), ("Bcc", lambda: addrlist(r)),
                   ("Subject", lambda: " ".join(r.choice(WORDS) for _ in range(r.randrange(0, 5)))),
                   ("Message-ID", lambda: "<%d@example.org>" % r.randrange(1000)), ("In-Reply-To", lambda: "<p@x>")]:
        if r.random() < 0.6:
            v = gen()
            if r.random() < 0.15 and " " in v:
                i = v.index(" "); v = v[:i] + "\r\n\t" + v[i + 1:]
            h.append("%s: %s" % (f, v))
    if r.random() < 0.5: h.append("MIME-Version: 1.0")
    ph, pb = part(r, depth, 0, boundary_seq)
    return h + ph + [""] + pb
def gen(seed):
    import itertools
    r = random.Random(seed)
    lines = message(r, 0, itertools.count())
    eol = "\n" if r.random() < 0.1 else "\r\n"
    s = eol.join(lines)
    if r.random() < 0.8: s += eol
    return s.encode("utf-8")
