"""SMTP commands and reply codes (RFC 5321 §4.1, §4.2; RFC 2920 PIPELINING;
RFC 2034/3463 enhanced status codes), spoken byte by byte to the real
binary."""
import re
import subprocess
import time

import pytest

from conftest import Raw, body_of, ehlo, greet, queue_id, raw_send

ENHANCED = re.compile(rb"^(\d)\d\d[ -]([245])\.\d{1,3}\.\d{1,3}( |$)")


def assert_enhanced(code, lines):
    """Every line of the reply carries an RFC 3463 code of the same class."""
    for ln in lines:
        m = ENHANCED.match(ln)
        assert m, f"no enhanced status code in {ln!r}"
        assert m.group(1) == m.group(2), f"class mismatch in {ln!r}"


def test_greeting_220(raw):
    c = raw()
    code, lines = c.reply()
    assert code == 220
    assert len(lines) == 1
    assert lines[0].startswith(b"220 mx.example.org ")
    assert b"ESMTP" in lines[0]


def test_ehlo_advertises_extensions(raw):
    c = raw()
    c.reply()
    code, lines = c.cmd(b"EHLO client.example.net")
    assert code == 250
    assert len(lines) >= 5
    # Multi-line: every line but the last is "250-".
    assert all(ln.startswith(b"250-") for ln in lines[:-1])
    assert lines[-1].startswith(b"250 ")
    assert lines[0].startswith(b"250-mx.example.org")
    kw = [ln[4:] for ln in lines[1:]]
    assert b"PIPELINING" in kw
    assert b"8BITMIME" in kw
    assert b"ENHANCEDSTATUSCODES" in kw
    assert b"SIZE 26214400" in kw  # the 25m default
    # VRFY is off by default, so it is not advertised.
    assert b"VRFY" not in kw


def test_helo_single_line_and_transaction(petrel, raw):
    c = raw()
    c.reply()
    code, lines = c.cmd(b"HELO client.example.net")
    assert code == 250
    assert lines == [b"250 mx.example.org"]
    code, lines = raw_send(c, b"a@example.net", [b"alice@example.org"],
                           b"Subject: helo\r\n\r\nvia HELO\r\n")
    assert code == 250
    msgs = petrel.wait_mailbox("alice", 1)
    assert len(msgs) == 1
    # Plain SMTP, not ESMTP, in the trace line (RFC 5321 §4.4).
    assert b"with SMTP id" in msgs[0]
    assert body_of(msgs[0]) == b"Subject: helo\r\n\r\nvia HELO\r\n"


@pytest.mark.parametrize("verb", [b"HELO", b"EHLO", b"HELO ", b"EHLO   "])
def test_helo_ehlo_without_argument_501(raw, verb):
    c = raw()
    c.reply()
    code, lines = c.cmd(verb)
    assert code == 501
    assert_enhanced(code, lines)
    # Still not greeted: MAIL is out of sequence.
    code, _ = c.cmd(b"MAIL FROM:<a@example.net>")
    assert code == 503


def test_every_command_reply_code(petrel, raw):
    c = raw()
    c.reply()
    ehlo(c)
    code, lines = c.cmd(b"MAIL FROM:<sender@example.net>")
    assert (code, lines[0][:9]) == (250, b"250 2.1.0")
    code, lines = c.cmd(b"RCPT TO:<alice@example.org>")
    assert (code, lines[0][:9]) == (250, b"250 2.1.5")
    code, lines = c.cmd(b"DATA")
    assert code == 354
    c.send(b"Subject: codes\r\n\r\nbody\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250
    assert lines[0].startswith(b"250 2.0.0 ")
    queue_id(lines[0])
    code, lines = c.cmd(b"RSET")
    assert (code, lines[0][:9]) == (250, b"250 2.0.0")
    code, lines = c.cmd(b"NOOP")
    assert (code, lines[0][:9]) == (250, b"250 2.0.0")
    code, lines = c.cmd(b"NOOP with an argument")
    assert code == 250
    code, lines = c.cmd(b"QUIT")
    assert (code, lines[0][:9]) == (221, b"221 2.0.0")
    assert c.closed()
    assert len(petrel.wait_mailbox("alice", 1)) == 1


def test_rset_clears_transaction(petrel, raw):
    c = greet(raw())
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd(b"RSET")[0] == 250
    assert c.cmd(b"DATA")[0] == 503
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 503
    # RSET also legal with no transaction, and before EHLO.
    assert c.cmd(b"RSET")[0] == 250
    code, _ = raw_send(c, b"b@example.net", [b"bob@example.org"],
                       b"Subject: after rset\r\n\r\nx\r\n")
    assert code == 250
    assert len(petrel.wait_mailbox("bob", 1)) == 1
    time.sleep(0.2)
    assert petrel.mailbox("alice") == []


def test_help_214(raw):
    c = raw()
    c.reply()
    code, lines = c.cmd(b"HELP")
    assert code == 214
    assert_enhanced(code, lines)
    assert b"MAIL" in b"".join(lines)
    code, lines = c.cmd(b"help mail")
    assert code == 214


def test_vrfy_expn_default(raw):
    c = greet(raw())
    code, lines = c.cmd(b"VRFY alice@example.org")
    assert code == 252
    assert_enhanced(code, lines)
    code, lines = c.cmd(b"VRFY nobody@example.org")
    assert code == 252  # no user enumeration by default
    code, lines = c.cmd(b"EXPN alice@example.org")
    assert code == 502
    assert_enhanced(code, lines)


def test_vrfy_expn_enabled(petrel_factory):
    p = petrel_factory(extra={"smtp_vrfy_expn": "yes"})
    p.cli("alias", "add", "team@example.org", "alice@example.org",
          "bob@example.org")
    c = Raw(p.port)
    try:
        c.reply()
        lines = ehlo(c)
        assert b"250-VRFY" in lines or b"250 VRFY" in lines
        code, lines = c.cmd(b"VRFY alice@example.org")
        assert code == 250
        assert b"alice@example.org" in lines[0]
        assert_enhanced(code, lines)
        code, lines = c.cmd(b"VRFY <bob@example.org>")
        assert code == 250
        code, lines = c.cmd(b"VRFY nobody@example.org")
        assert code == 550
        assert_enhanced(code, lines)
        code, lines = c.cmd(b"EXPN team@example.org")
        assert code == 250
        assert_enhanced(code, lines)
        assert len(lines) == 2
        text = b"\n".join(lines)
        assert b"<alice@example.org>" in text
        assert b"<bob@example.org>" in text
        code, lines = c.cmd(b"EXPN nobody@example.org")
        assert code == 550
        code, lines = c.cmd(b"VRFY")
        assert code == 501
    finally:
        c.close()


@pytest.mark.parametrize("line", [b"FOO", b"XYZZY bar", b"MAILX FROM:<a@b>",
                                  b"RCPTTO:<a@b>", b"HELO\tx"])
def test_unknown_verb_500(raw, line):
    c = greet(raw())
    code, lines = c.cmd(line)
    assert code == 500
    assert_enhanced(code, lines)
    assert c.cmd(b"NOOP")[0] == 250


@pytest.mark.parametrize("line,want", [
    (b"MAIL FROM:bad", 501),
    (b"MAIL FROM:<bad", 501),
    (b"MAIL FROM:<a@b", 501),
    (b"MAIL", 501),
    (b"MAIL TO:<a@example.net>", 501),
    (b"MAIL FROM:<a@b> FOO=bar", 555),
    (b"MAIL FROM:<a@b> SIZE=abc", 501),
])
def test_mail_syntax_errors(raw, line, want):
    c = greet(raw())
    code, lines = c.cmd(line)
    assert code == want, lines
    assert_enhanced(code, lines)
    # The session is still usable and no transaction was started.
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 503
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250


@pytest.mark.parametrize("line,want", [
    (b"RCPT TO:bad", 501),
    (b"RCPT TO:<>", 501),
    (b"RCPT", 501),
    (b"RCPT TO:<alice@example.org> FOO=bar", 555),
])
def test_rcpt_syntax_errors(raw, line, want):
    c = greet(raw())
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
    code, lines = c.cmd(line)
    assert code == want, lines
    assert_enhanced(code, lines)
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250


def test_data_with_argument_501(raw):
    c = greet(raw())
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    code, lines = c.cmd(b"DATA now")
    assert code == 501
    assert c.cmd(b"DATA")[0] == 354


def test_bad_sequence_503(raw):
    c = raw()
    c.reply()
    for line in (b"MAIL FROM:<a@example.net>", b"RCPT TO:<alice@example.org>",
                 b"DATA"):
        code, lines = c.cmd(line)
        assert code == 503, (line, lines)
        assert_enhanced(code, lines)
    ehlo(c)
    code, lines = c.cmd(b"RCPT TO:<alice@example.org>")
    assert code == 503
    code, lines = c.cmd(b"DATA")
    assert code == 503
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
    code, lines = c.cmd(b"DATA")  # no RCPT yet
    assert code == 503
    assert_enhanced(code, lines)
    code, lines = c.cmd(b"MAIL FROM:<b@example.net>")  # nested
    assert code == 503
    assert_enhanced(code, lines)
    # The first transaction is intact.
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd(b"DATA")[0] == 354


def test_case_insensitive_verbs(petrel, raw):
    c = raw()
    c.reply()
    code, lines = c.cmd(b"eHlO client.example.net")
    assert code == 250 and len(lines) > 1
    assert c.cmd(b"mail from:<a@example.net>")[0] == 250
    assert c.cmd(b"Rcpt To:<alice@example.org>")[0] == 250
    assert c.cmd(b"data")[0] == 354
    c.send(b"Subject: lower\r\n\r\nlower case verbs\r\n.\r\n")
    assert c.reply()[0] == 250
    assert c.cmd(b"rset")[0] == 250
    assert c.cmd(b"nOoP")[0] == 250
    assert c.cmd(b"quit")[0] == 221
    msgs = petrel.wait_mailbox("alice", 1)
    assert body_of(msgs[0]) == b"Subject: lower\r\n\r\nlower case verbs\r\n"


def test_space_after_colon_accepted(petrel, raw):
    c = greet(raw())
    code, lines = c.cmd(b"MAIL FROM: <a@example.net>")
    assert code == 250, lines
    code, lines = c.cmd(b"RCPT TO: <alice@example.org>")
    assert code == 250, lines
    assert c.cmd(b"DATA")[0] == 354
    c.send(b"Subject: sp\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    assert len(petrel.wait_mailbox("alice", 1)) == 1


def test_enhanced_codes_on_every_reply(raw):
    """RFC 2034 §3: once ENHANCEDSTATUSCODES is advertised every reply but
    the greeting, EHLO/HELO and 354 carries one."""
    # Two sessions, so that max_errors (10 by default) is never reached.
    scripts = [
        [b"NOOP", b"RSET", b"HELP", b"VRFY alice@example.org",
         b"EXPN alice@example.org", b"BOGUS", b"DATA",
         b"RCPT TO:<alice@example.org>", b"MAIL FROM:<a@example.net>",
         b"MAIL FROM:<a@example.net>", b"RCPT TO:<nobody@example.org>",
         b"RCPT TO:<x@example.net>", b"RCPT TO:<alice@example.org>",
         b"RSET"],
        # STARTTLS with an argument is refused (a bare one would start
        # TLS); AUTH before TLS is refused with 538 5.7.11.
        [b"MAIL FROM:bad", b"MAIL FROM:<a@b> X=y", b"STARTTLS now",
         b"AUTH PLAIN", b"x" * 3000,
         b"MAIL FROM:<a@example.net> SIZE=999999999999",
         b"MAIL FROM:<a@example.net>", b"RCPT TO:<alice@example.org>",
         b"DATA"],
    ]
    for script in scripts:
        c = raw()
        c.reply()
        ehlo(c)
        for line in script:
            code, lines = c.cmd(line)
            if line == b"DATA" and code == 354:
                break
            assert_enhanced(code, lines)
    c.send(b"Subject: e\r\n\r\nx\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250
    assert_enhanced(code, lines)
    code, lines = c.cmd(b"QUIT")
    assert_enhanced(code, lines)


# --- PIPELINING (RFC 2920) ---

def test_pipelined_transaction(petrel, raw):
    c = greet(raw())
    c.send(b"MAIL FROM:<pipe@example.net>\r\n"
           b"RCPT TO:<alice@example.org>\r\n"
           b"RCPT TO:<bob@example.org>\r\n"
           b"DATA\r\n")
    codes = [c.reply()[0] for _ in range(4)]
    assert codes == [250, 250, 250, 354]
    body = b"Subject: pipelined\r\n\r\none write\r\n"
    c.send(body + b".\r\nQUIT\r\n")
    code, lines = c.reply()
    assert code == 250
    assert lines[0].startswith(b"250 2.0.0")
    code, lines = c.reply()
    assert code == 221
    assert c.closed()
    for user in ("alice", "bob"):
        msgs = petrel.wait_mailbox(user, 1)
        assert len(msgs) == 1
        assert body_of(msgs[0]) == body


def test_pipelined_whole_session_in_one_write(petrel, raw):
    """Even EHLO..QUIT as one write; the message in the middle."""
    c = raw()
    c.send(b"EHLO one.example.net\r\nMAIL FROM:<a@example.net>\r\n"
           b"RCPT TO:<alice@example.org>\r\nDATA\r\n"
           b"Subject: burst\r\n\r\nall at once\r\n.\r\n"
           b"MAIL FROM:<b@example.net>\r\nRCPT TO:<bob@example.org>\r\n"
           b"DATA\r\nSubject: burst2\r\n\r\nsecond\r\n.\r\nQUIT\r\n")
    codes = [c.reply()[0] for _ in range(10)]
    assert codes == [220, 250, 250, 250, 354, 250, 250, 250, 354, 250]
    assert c.reply()[0] == 221
    assert body_of(petrel.wait_mailbox("alice", 1)[0]) == \
        b"Subject: burst\r\n\r\nall at once\r\n"
    assert body_of(petrel.wait_mailbox("bob", 1)[0]) == \
        b"Subject: burst2\r\n\r\nsecond\r\n"


def test_pipelined_all_rcpts_fail_data_refused(petrel, raw):
    c = greet(raw())
    c.send(b"MAIL FROM:<pipe@example.net>\r\n"
           b"RCPT TO:<nobody1@example.org>\r\n"
           b"RCPT TO:<nobody2@example.org>\r\n"
           b"DATA\r\n"
           b"Subject: lost\r\n"
           b"hello\r\n"
           b".\r\n"
           b"QUIT\r\n")
    code, _ = c.reply()
    assert code == 250
    assert c.reply()[0] == 550
    assert c.reply()[0] == 550
    code, lines = c.reply()
    assert code in (554, 503), lines
    assert_enhanced(code, lines)
    # The data lines are now commands, each refused.
    for _ in range(3):
        code, lines = c.reply()
        assert code == 500, lines
    code, lines = c.reply()
    assert code == 221
    assert c.closed()
    time.sleep(0.3)
    maildir = petrel.data_dir / "mail"
    assert [p for p in maildir.rglob("*") if p.is_file()] == []
    assert "Mail queue is empty" in petrel.cli("queue", "list").stdout


def test_pipelined_mail_fails_nothing_delivered(petrel, raw):
    """A pipelined group whose MAIL fails: RCPT and DATA are out of
    sequence, and the message lines are commands, each refused."""
    c = greet(raw())
    c.send(b"MAIL FROM:<bad\r\n"
           b"RCPT TO:<alice@example.org>\r\n"
           b"DATA\r\n"
           b"Subject: lost\r\n"
           b".\r\n"
           b"NOOP\r\n")
    assert c.reply()[0] == 501
    assert c.reply()[0] == 503
    assert c.reply()[0] == 503
    assert c.reply()[0] == 500
    assert c.reply()[0] == 500
    assert c.reply()[0] == 250
    time.sleep(0.3)
    assert petrel.mailbox("alice") == []


def test_pipelined_some_rcpts_fail_data_accepted(petrel, raw):
    c = greet(raw())
    c.send(b"MAIL FROM:<pipe@example.net>\r\n"
           b"RCPT TO:<nobody@example.org>\r\n"
           b"RCPT TO:<alice@example.org>\r\n"
           b"DATA\r\n")
    assert [c.reply()[0] for _ in range(4)] == [250, 550, 250, 354]
    c.send(b"Subject: partial\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    assert len(petrel.wait_mailbox("alice", 1)) == 1


def test_many_pipelined_noops(raw):
    c = greet(raw())
    n = 200
    c.send(b"NOOP\r\n" * n + b"QUIT\r\n")
    for i in range(n):
        code, lines = c.reply()
        assert code == 250, (i, lines)
    assert c.reply()[0] == 221
    assert c.closed()


# --- the log ---

def test_log_lines_carry_queue_id(petrel, raw):
    c = greet(raw())
    code, lines = raw_send(c, b"logger@example.net", [b"alice@example.org"],
                           b"Subject: log\r\n\r\nlog me\r\n")
    assert code == 250
    qid = queue_id(lines[0])
    assert len(petrel.wait_mailbox("alice", 1)) == 1
    deadline = time.time() + 5
    while time.time() < deadline and "status=sent" not in petrel.log():
        time.sleep(0.05)
    log = petrel.log()
    assert re.search(re.escape(qid) + r": from=<logger@example\.net>, "
                     r"size=\d+, nrcpt=1", log), log
    assert re.search(re.escape(qid) + r": to=<alice@example\.org>, "
                     r"status=sent", log), log
    # Every line naming this message's envelope starts with its id.
    for ln in log.splitlines():
        if "from=<logger@example.net>" in ln or \
                "to=<alice@example.org>" in ln:
            assert f"{qid}: " in ln, ln


# --- a real client ---

def swaks(port, *args, source=None):
    cmd = ["swaks", "--server", f"127.0.0.1:{port}", *args]
    if source:
        cmd += ["--local-interface", source]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_swaks_send(petrel):
    r = swaks(petrel.port, "--to", "alice@example.org", "--from",
              "swaks@example.net", "--header", "Subject: from swaks",
              "--body", "hello from swaks")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0" in r.stdout
    msgs = petrel.wait_mailbox("alice", 1)
    assert len(msgs) == 1
    body = body_of(msgs[0])
    assert b"Subject: from swaks\r\n" in body
    # swaks adds blank lines of its own after --body.
    assert b"\r\n\r\nhello from swaks\r\n" in body


def test_swaks_unknown_user_refused(petrel):
    r = swaks(petrel.port, "--to", "nobody@example.org", "--from",
              "swaks@example.net", "--body", "x")
    assert r.returncode != 0
    assert "550 5.1.1" in r.stdout


def test_log_rejections_carry_queue_id(petrel_factory):
    p = petrel_factory(extra={"max_message_size": "10k"})
    c = greet(Raw(p.port))
    try:
        code, lines = c.cmd(b"MAIL FROM:<big@example.net>")
        assert code == 250
        assert c.cmd(b"RCPT TO:<nobody@example.org>")[0] == 550
        assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd(b"DATA")[0] == 354
        c.send(b"Subject: big\r\n\r\n" + b"x" * 20000 + b"\r\n.\r\n")
        assert c.reply()[0] == 552
    finally:
        c.close()
    log = p.log()
    m = re.search(r"(\S+): client=\[127\.0\.0\.1\], helo=\S+, "
                  r"from=<big@example\.net>", log)
    assert m, log
    qid = m.group(1)
    assert re.search(re.escape(qid) + r": reject: RCPT .*nobody@example\.org",
                     log), log
    assert re.search(re.escape(qid) + r": reject: message size", log), log


def test_swaks_pipelined_from_untrusted(petrel):
    r = swaks(petrel.port, "--pipeline", "--to",
              "alice@example.org,bob@example.org", "--from",
              "swaks@example.net", "--body", "pipelined swaks",
              source="127.0.0.2")
    assert r.returncode == 0, r.stdout + r.stderr
    for u in ("alice", "bob"):
        msgs = petrel.wait_mailbox(u, 1)
        assert len(msgs) == 1
        assert b"pipelined swaks" in msgs[0]
        assert b"[127.0.0.2]" in msgs[0]


def test_vrfy_bare_name_and_alias_loop(petrel_factory):
    """RFC 5321 §3.5.1: VRFY of a bare user name means the user at our
    host name; an alias loop answers as RCPT does (5.4.6)."""
    p = petrel_factory(extra={"smtp_vrfy_expn": "yes",
                              "hostname": "example.org"})
    p.cli("alias", "add", "loop1@example.org", "loop2@example.org")
    p.cli("alias", "add", "loop2@example.org", "loop1@example.org")
    c = greet(Raw(p.port))
    code, lines = c.cmd(b"VRFY alice")
    assert code == 250 and b"<alice@example.org>" in lines[0], lines
    assert c.cmd(b"VRFY nobody")[0] == 550
    code, lines = c.cmd(b"VRFY loop1@example.org")
    assert code == 550 and b"5.4.6" in lines[0], lines
    code, lines = c.cmd(b"RCPT TO:<loop1@example.org>")  # no MAIL yet
    assert code == 503
    assert c.cmd(b"QUIT")[0] == 221
    c.close()
