#!/usr/bin/env python3
"""
dovecot_diff - differential test of petrel's ENVELOPE, BODY,
BODYSTRUCTURE and BODY[section] against a private Dovecot (dovecot.py)
on random messages (random_mime.py). Not part of make test:

    make build/libpetrel.a
    python3 tests/mime/dovecot_diff.py [COUNT [FIRST_SEED]]

Differences of the kinds listed in make_fixtures.py's DIFFS (and
Dovecot's RFC 2231 name mangling, "name*0*" twice) are counted apart;
any other difference is printed and makes the exit status 1.
Last run (COUNT 1500 at seeds 9000, 1000 at 30000 with sections): no
other difference.
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import dovecot  # noqa: E402
import make_fixtures as mf  # noqa: E402
import random_mime  # noqa: E402

SECTIONS = ["1", "1.MIME", "2", "2.MIME", "1.1", "2.1", "2.2", "1.HEADER",
            "2.HEADER", "2.TEXT", "3", "HEADER.FIELDS (From Subject)",
            "HEADER.FIELDS.NOT (To)", "2.HEADER.FIELDS (Subject)",
            "1.1.MIME", "2.1.1", "TEXT"]


def known(petrel, dove):
    """A difference of a documented kind?"""
    j = next((i for i in range(min(len(petrel), len(dove)))
              if petrel[i] != dove[i]), min(len(petrel), len(dove)))
    # Dovecot's RFC 2231 names ("title*0" twice, "name*1*")
    if re.search(rb'"[a-z]+\*[0-9]+\*?"', dove[max(0, j - 20):j + 20]):
        return "rfc2231-names"
    # an embedded message ending in its header: Dovecot leaves the
    # boundary's line end in the message/rfc822 part (size + 2)
    if re.search(rb'"message" "rfc822" [^()]*"[^"]*" [0-9]*$', petrel[:j]):
        return "rfc822-line-end"
    if dove == petrel + b"\r\n" and petrel.endswith(b"\r\n"):
        return "rfc822-line-end"
    return None


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    tmp = tempfile.mkdtemp(prefix="petrel-mime-diff-")
    tool = os.path.join(tmp, "mime_show")
    subprocess.run(["cc", "-O1", "-std=c17", "-D_GNU_SOURCE",
                    "-I" + os.path.join(REPO, "src"),
                    os.path.join(HERE, "mime_show.c"),
                    os.path.join(REPO, "build", "libpetrel.a"),
                    "-o", tool], check=True)
    msgs = [random_mime.gen(first + i) for i in range(count)]
    files = []
    for i, m in enumerate(msgs):
        files.append(os.path.join(tmp, "%05d.eml" % i))
        with open(files[-1], "wb") as f:
            f.write(m)

    def run(args):
        out = subprocess.run([tool] + args + files, check=True,
                             capture_output=True).stdout.split(b"\n")
        return [bytes.fromhex(x.decode()) for x in out[:-1]]
    strings = run([])
    secs = {s: run(["-s", s]) for s in SECTIONS}
    bad, kinds = 0, {}
    with dovecot.dovecot() as port:
        s = dovecot.Session(port)
        for m in msgs:
            assert s.append(m) is not None
        s.select()
        for i in range(count):
            items = ["ENVELOPE", "BODY", "BODYSTRUCTURE"] + \
                ["BODY.PEEK[%s]" % x for x in SECTIONS]
            got = mf.fetch_items(s.fetch_raw(i + 1, " ".join(items)))
            pairs = [("ENVELOPE", strings[3 * i], mf.emit(got["ENVELOPE"])),
                     ("BODY", strings[3 * i + 1], mf.emit_body(got["BODY"])),
                     ("BODYSTRUCTURE", strings[3 * i + 2],
                      mf.emit_body(got["BODYSTRUCTURE"]))]
            for x in SECTIONS:
                key = [k for k in got if k.upper() == "BODY[%s]" % x.upper()]
                v = got[key[0]]
                pairs.append(("BODY[%s]" % x, secs[x][i],
                              v[1] if v[0] == "str" else b""))
            for what, p, d in pairs:
                if p == d:
                    continue
                k = known(p, d)
                if k:
                    kinds[k] = kinds.get(k, 0) + 1
                    continue
                bad += 1
                if bad <= 10:
                    print("seed %d %s:\n  petrel  %r\n  dovecot %r" %
                          (first + i, what, p[-300:], d[-300:]))
        s.close()
    print("%d messages, %d items each: %d unexplained differences; "
          "known: %r" % (count, 3 + len(SECTIONS), bad, kinds))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
