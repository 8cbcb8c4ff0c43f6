"""POP3 (RFC 1939, RFC 2449 CAPA/PIPELINING/RESP-CODES, RFC 5034 AUTH
PLAIN, RFC 3206 AUTH-RESP-CODE) against the real binary: every command
and every error path, byte-exact RETR/TOP against the Maildir files,
UIDL stability, deletion only in UPDATE, the maildrop lock, the
failed-login delay, pipelining and a consistent snapshot."""

import base64
import os
import poplib
import signal
import subprocess
import sys
import threading
import time

import pytest

from pop3util import (PASSWORD, Pop, arrival_key, deliver, header,
                      in_arrival_order, mail_files, message, wait_login)

ALICE = b"alice@example.org"


def plain(user=ALICE, password=PASSWORD.encode(), authz=b""):
    return base64.b64encode(authz + b"\0" + user + b"\0" + password)


def subjects(p, count):
    return sorted(header(p.retr(i), b"Subject").decode()
                  for i in range(1, count + 1))


# --- greeting, CAPA, poplib --------------------------------------------------

CAPS = ["TOP", "UIDL", "USER", "SASL PLAIN", "RESP-CODES", "AUTH-RESP-CODE",
        "PIPELINING"]


def check_capa(body: bytes, stls: bool):
    caps = body.decode().split("\r\n")[:-1]
    for c in CAPS:
        assert c in caps, (c, caps)
    assert any(c.startswith("IMPLEMENTATION") for c in caps), caps
    # RFC 2595 §4: STLS is offered in the AUTHORIZATION state only.
    assert ("STLS" in caps) == stls, caps
    assert not any(c.startswith("APOP") for c in caps)


def test_capa_before_and_after_login(petrel):
    p = Pop(petrel.pop3_port)
    st, body = p.multi_cmd(b"CAPA")
    assert st.startswith(b"+OK"), st
    check_capa(body, stls=True)
    p.login()
    st, body = p.multi_cmd(b"CAPA")
    assert st.startswith(b"+OK"), st
    check_capa(body, stls=False)
    p.quit()


def test_poplib_full_session(petrel):
    deliver(petrel, [message("one"), message("two", b"a\r\nb\r\nc\r\n")])
    m = poplib.POP3("127.0.0.1", petrel.pop3_port, timeout=15)
    assert m.getwelcome().startswith(b"+OK")
    caps = m.capa()
    assert "UIDL" in caps and "TOP" in caps and "SASL" in caps
    assert caps["SASL"] == ["PLAIN"]
    m.user("alice@example.org")
    m.pass_(PASSWORD)
    assert m.stat()[0] == 2
    resp, lst, _ = m.list()
    assert resp.startswith(b"+OK") and len(lst) == 2
    assert m.list(2).startswith(b"+OK 2 ")
    resp, uids, _ = m.uidl()
    assert len(uids) == 2 and len({u.split()[1] for u in uids}) == 2
    assert m.uidl(1).split()[2] == uids[0].split()[1]
    resp, lines, octets = m.retr(2)
    assert b"Subject: two" in lines and lines[-3:] == [b"a", b"b", b"c"]
    resp, lines, _ = m.top(2, 1)
    assert lines[-2:] == [b"", b"a"]
    assert m.noop().startswith(b"+OK")
    assert m.dele(1).startswith(b"+OK")
    with pytest.raises(poplib.error_proto):
        m.retr(1)
    assert m.stat()[0] == 1
    assert m.rset().startswith(b"+OK")
    assert m.stat()[0] == 2
    assert m.dele(1).startswith(b"+OK")
    assert m.quit().startswith(b"+OK")
    assert len(mail_files(petrel)) == 1


# --- wrong state, unknown and malformed commands -----------------------------

def test_transaction_commands_before_login(petrel):
    p = Pop(petrel.pop3_port)
    for c in [b"STAT", b"LIST", b"LIST 1", b"UIDL", b"RETR 1", b"DELE 1",
              b"TOP 1 0", b"NOOP", b"RSET"]:
        assert p.cmd(c).startswith(b"-ERR"), c
    p.login()  # the session is still usable
    assert p.stat() == (0, 0)
    p.quit()


def test_authorization_commands_after_login(petrel):
    p = Pop(petrel.pop3_port)
    p.login()
    for c in [b"USER bob@example.org", b"PASS secret",
              b"AUTH PLAIN " + plain(b"bob@example.org"),
              b"APOP alice@example.org 0123456789abcdef0123456789abcdef"]:
        assert p.cmd(c).startswith(b"-ERR"), c
    assert p.cmd(b"NOOP").startswith(b"+OK")
    p.quit()


def test_unknown_and_malformed_commands(petrel):
    p = Pop(petrel.pop3_port)
    bad = [b"FOO", b"XTND XMIT", b"", b"   ", b" QUIT", b"STATUS",
           b"ST", b"RETR\x00 1", b"USER", b"PASS",
           b"NOOP " + b"x" * 300,      # over the 255-octet RFC 2449 limit
           b"X" * 5000]                # over the reader's own limit
    for c in bad:
        assert p.cmd(c).startswith(b"-ERR"), c
    # "AUTH" alone: a mechanism list (a pre-RFC 5034 probe) or -ERR,
    # either way the session goes on.
    st = p.cmd(b"AUTH")
    if st.startswith(b"+OK"):
        assert b"PLAIN" in p.multi_raw().split(b"\r\n")
    else:
        assert st.startswith(b"-ERR"), st
    p.quit()
    # (a new session: more than 20 errors in one would close it)
    p = Pop(petrel.pop3_port)
    p.login()
    for c in [b"STAT 1", b"RETR", b"RETR 1 2", b"TOP 1", b"TOP 1 2 3",
              b"DELE", b"NOOP x", b"LIST 1 2", b"ZZZZ"]:
        assert p.cmd(c).startswith(b"-ERR"), c
    assert p.cmd(b"noop").startswith(b"+OK")  # keywords are case-blind
    assert p.cmd(b"sTaT").startswith(b"+OK 0 0")
    p.quit()


def test_too_many_errors_closes(petrel):
    p = Pop(petrel.pop3_port)
    for _ in range(60):
        try:
            st = p.cmd(b"BOGUS")
        except (EOFError, ConnectionResetError, BrokenPipeError):
            break
        assert st.startswith(b"-ERR"), st
    else:
        pytest.fail("60 unknown commands and the session is still open")
    assert p.closed()


@pytest.mark.parametrize("cmd", [b"RETR %s", b"DELE %s", b"LIST %s",
                                 b"UIDL %s", b"TOP %s 0"])
def test_bad_message_numbers(petrel, cmd):
    deliver(petrel, [message("a"), message("b")])
    p = Pop(petrel.pop3_port)
    p.login()
    assert p.cmd(b"DELE 2").startswith(b"+OK")
    for arg in [b"0", b"-1", b"+1", b"3", b"x", b"1x", b"0x1", b"2",
                b"4294967295", b"4294967296", b"99999999999999999999"]:
        assert p.cmd(cmd % arg).startswith(b"-ERR"), cmd % arg
    # The good one still works and nothing was lost.
    st = p.cmd(cmd % b"1")
    assert st.startswith(b"+OK"), st
    if cmd in (b"RETR %s", b"TOP %s 0"):
        p.multi()
    assert p.cmd(b"RSET").startswith(b"+OK")
    assert p.stat()[0] == 2
    p.quit()
    assert len(mail_files(petrel)) == 2


def test_top_bad_line_counts(petrel):
    deliver(petrel, [message("a")])
    p = Pop(petrel.pop3_port)
    p.login()
    for c in [b"TOP 1 -1", b"TOP 1 x", b"TOP 1 4294967296", b"TOP 1 +2"]:
        assert p.cmd(c).startswith(b"-ERR"), c
    st, body = p.multi_cmd(b"TOP 1 4294967295")  # more lines than exist
    assert st.startswith(b"+OK")
    assert body == mail_files(petrel)[0].read_bytes()
    p.quit()


# --- authentication ----------------------------------------------------------

def test_pass_without_user(petrel):
    p = Pop(petrel.pop3_port)
    assert p.cmd(b"PASS secret").startswith(b"-ERR")
    # a USER followed by a failed PASS must be repeated as well
    assert p.cmd(b"USER alice@example.org").startswith(b"+OK")
    assert p.cmd(b"PASS wrong").startswith(b"-ERR [AUTH]")
    assert p.cmd(b"PASS secret").startswith(b"-ERR")
    p.login()
    p.quit()


def test_user_pass_case_and_spaces(petrel):
    p = Pop(petrel.pop3_port)
    assert p.cmd(b"user  Alice@EXAMPLE.org ").startswith(b"+OK")
    assert p.cmd(b"pass secret").startswith(b"+OK")
    p.quit()
    # A password is every byte after "PASS ": a trailing space is wrong.
    p = Pop(petrel.pop3_port)
    assert p.cmd(b"USER alice@example.org").startswith(b"+OK")
    assert p.cmd(b"PASS secret ").startswith(b"-ERR [AUTH]")
    p.close()


def test_auth_plain_initial_response(petrel):
    p = Pop(petrel.pop3_port)
    assert p.cmd(b"AUTH PLAIN " + plain()).startswith(b"+OK")
    assert p.stat() == (0, 0)
    p.quit()


def test_auth_plain_continuation(petrel):
    p = Pop(petrel.pop3_port)
    assert p.cmd(b"AUTH PLAIN") == b"+ "
    assert p.cmd(plain()).startswith(b"+OK")
    assert p.stat() == (0, 0)
    p.quit()
    p = Pop(petrel.pop3_port)
    assert p.cmd(b"auth plain") == b"+ "
    assert p.cmd(plain(password=b"bad")).startswith(b"-ERR [AUTH]")
    p.close()


def test_auth_plain_cancel_and_malformed(petrel):
    p = Pop(petrel.pop3_port)
    assert p.cmd(b"AUTH PLAIN") == b"+ "
    assert p.cmd(b"*").startswith(b"-ERR")
    assert p.cmd(b"STAT").startswith(b"-ERR")  # still not logged in
    for bad in [b"!!!!", b"YWxpY2U", base64.b64encode(b"no-nuls-at-all"),
                base64.b64encode(b"\0only-user"), b"="]:
        assert p.cmd(b"AUTH PLAIN") == b"+ "
        assert p.cmd(bad).startswith(b"-ERR"), bad
    assert p.cmd(b"AUTH PLAIN %&/").startswith(b"-ERR")
    assert p.cmd(b"AUTH LOGIN").startswith(b"-ERR")
    assert p.cmd(b"AUTH CRAM-MD5").startswith(b"-ERR")
    # The continuation is one line: a too long one ends the exchange.
    assert p.cmd(b"AUTH PLAIN") == b"+ "
    assert p.cmd(b"A" * 4000).startswith(b"-ERR")
    assert p.cmd(b"AUTH PLAIN " + plain()).startswith(b"+OK")
    p.quit()


def test_auth_plain_other_authzid_refused(petrel):
    p = Pop(petrel.pop3_port)
    st = p.cmd(b"AUTH PLAIN " + plain(authz=b"bob@example.org"))
    assert st.startswith(b"-ERR"), st
    # the same identity as authzid is fine (RFC 4616 §2)
    st = p.cmd(b"AUTH PLAIN " + plain(authz=ALICE))
    assert st.startswith(b"+OK"), st
    p.quit()


def test_apop_refused(petrel):
    p = Pop(petrel.pop3_port)
    st = p.cmd(b"APOP alice@example.org c4c9334bac560ecc979e58001b3e22fb")
    assert st.startswith(b"-ERR"), st
    assert p.cmd(b"STAT").startswith(b"-ERR")
    p.login()
    # After login STLS is a wrong-state command (RFC 2595 §4).
    assert p.cmd(b"STLS").startswith(b"-ERR")
    p.quit()


def test_failed_login_text_same_for_unknown_user(petrel):
    attempts = [(b"nobody@example.org", b"secret"), (ALICE, b"wrong"),
                (b"alice@nowhere.test", b"x"), (b"not-an-address", b"secret"),
                None]  # None: AUTH PLAIN for an unknown user
    conns = [Pop(petrel.pop3_port) for _ in attempts]
    # All at once: the delays overlap, so this takes ~1 s, not 5.
    for p, a in zip(conns, attempts):
        if a is None:
            p.send(b"AUTH PLAIN " + plain(b"nobody@example.org") + b"\r\n")
        else:
            p.send(b"USER " + a[0] + b"\r\nPASS " + a[1] + b"\r\n")
    answers = []
    for p, a in zip(conns, attempts):
        if a is not None:
            assert p.line().startswith(b"+OK")
        answers.append(p.line())
        p.close()
    assert answers[0].startswith(b"-ERR [AUTH] ")
    assert len(set(answers)) == 1, answers


def test_failed_login_is_slow_but_blocks_nobody(petrel):
    deliver(petrel, [message("x")], rcpt="bob@example.org")
    slow = Pop(petrel.pop3_port)
    assert slow.cmd(b"USER " + ALICE).startswith(b"+OK")
    t0 = time.monotonic()
    slow.send(b"PASS wrong\r\n")
    time.sleep(0.1)
    # Meanwhile another client logs in and works at full speed.
    t1 = time.monotonic()
    fast = Pop(petrel.pop3_port)
    fast.login(b"bob@example.org")
    assert fast.stat()[0] == 1
    fast.quit()
    fast_time = time.monotonic() - t1
    st = slow.line()
    slow_time = time.monotonic() - t0
    assert st.startswith(b"-ERR [AUTH]"), st
    assert slow_time >= 0.9, slow_time
    assert fast_time < 0.6, fast_time
    # and the slow session can still log in, without a delay
    t2 = time.monotonic()
    slow.login()
    assert time.monotonic() - t2 < 0.8
    slow.quit()


def test_three_failures_close(petrel):
    p = Pop(petrel.pop3_port)
    for i in range(3):
        assert p.cmd(b"USER " + ALICE).startswith(b"+OK")
        assert p.cmd(b"PASS nope%d" % i).startswith(b"-ERR [AUTH]")
    assert p.closed()


def test_auth_failures_counted_across_mechanisms(petrel):
    p = Pop(petrel.pop3_port)
    assert p.cmd(b"USER " + ALICE).startswith(b"+OK")
    assert p.cmd(b"PASS nope").startswith(b"-ERR [AUTH]")
    assert p.cmd(b"AUTH PLAIN " + plain(password=b"x")) \
        .startswith(b"-ERR [AUTH]")
    assert p.cmd(b"AUTH PLAIN") == b"+ "
    assert p.cmd(plain(password=b"y")).startswith(b"-ERR [AUTH]")
    assert p.closed()


def test_longest_password_and_overlong_line(petrel):
    """RFC 2449 §4: a command line is at most 255 octets. The longest PASS
    that fits is checked (and fails, slowly); a longer line is a syntax
    error, not a login attempt, and the session goes on."""
    p = Pop(petrel.pop3_port)
    assert p.cmd(b"USER " + ALICE).startswith(b"+OK")
    t0 = time.monotonic()
    assert p.cmd(b"PASS " + b"p" * 248).startswith(b"-ERR [AUTH]")
    assert time.monotonic() - t0 >= 0.9
    assert p.cmd(b"USER " + ALICE).startswith(b"+OK")
    assert p.cmd(b"PASS " + b"p" * 249).startswith(b"-ERR")
    p.login()
    p.quit()


# --- byte-exact RETR, LIST, STAT, TOP ----------------------------------------

def tricky_messages():
    return [
        message("dots", b".\r\n..\r\n...\r\n.a\r\n..b\r\nx.\r\n. \r\n"
                        b".\r\nend\r\n"),
        message("empty-lines", b"\r\n\r\n\r\nmiddle\r\n\r\n\r\n"),
        message("long5000", b"L" * 4998 + b"\r\n.\r\n" + b"." * 5000
                + b"\r\n"),
        message("long100k", bytes(range(33, 127)) * 1090 + b"\r\nend\r\n"),
        message("8bit", "Grüße, ça va? ☃\r\n".encode("utf-8")
                + bytes(range(128, 256)) + b"\r\n"),
        message("first-body-dot", b".only a dot starts this\r\n"),
    ]


def test_retr_list_stat_byte_exact(petrel):
    deliver(petrel, tricky_messages())
    files = {f.name: f.read_bytes() for f in mail_files(petrel)}
    assert len(files) == 6
    p = Pop(petrel.pop3_port)
    p.login()
    n, total = p.stat()
    assert n == 6
    assert total == sum(len(b) for b in files.values())
    sizes = p.listing(b"LIST")
    assert sorted(sizes) == list(range(1, 7))
    got = []
    for i in range(1, 7):
        st = p.cmd(b"RETR %d" % i)
        assert st.startswith(b"+OK"), st
        wire = p.multi_raw()
        body = b"\r\n".join(ln[1:] if ln.startswith(b".") else ln
                            for ln in wire.split(b"\r\n"))
        # No line on the wire may start with a lone, unstuffed dot.
        for ln in wire.split(b"\r\n")[:-1]:
            assert not ln.startswith(b".") or ln.startswith(b".."), ln
        assert int(sizes[i]) == len(body)
        assert p.cmd(b"LIST %d" % i) == b"+OK %d %d" % (i, len(body))
        got.append(body)
    assert sorted(got) == sorted(files.values())
    # UID order is arrival order: the Maildir name order.
    assert got == [files[k] for k in sorted(files, key=arrival_key)]
    p.quit()


def test_retr_message_without_final_crlf(petrel):
    """A stored file that does not end in CRLF (dropped in by hand) still
    gets a well-formed multi-line answer."""
    box = petrel.data_dir / "mail" / "example.org" / "alice"
    (box / "new").mkdir(parents=True, exist_ok=True)
    data = b"Subject: raw\r\n\r\n.no final newline"
    (box / "new" / ("1.M1P1.test,S=%d" % len(data))).write_bytes(data)
    p = Pop(petrel.pop3_port)
    p.login()
    assert p.stat() == (1, len(data))
    st = p.cmd(b"RETR 1")
    assert st.startswith(b"+OK"), st
    assert p.multi_raw() == b"Subject: raw\r\n\r\n..no final newline\r\n"
    assert p.cmd(b"NOOP").startswith(b"+OK")
    p.quit()


def test_top(petrel):
    body = b".first\r\nsecond\r\nthird\r\n"
    deliver(petrel, [message("top", body)])
    data = mail_files(petrel)[0].read_bytes()
    head = data[:data.index(b"\r\n\r\n") + 4]
    p = Pop(petrel.pop3_port)
    p.login()
    st, got = p.multi_cmd(b"TOP 1 0")
    assert st.startswith(b"+OK"), st
    assert got == head
    st, got = p.multi_cmd(b"TOP 1 2")
    assert got == head + b".first\r\nsecond\r\n"
    st, got = p.multi_cmd(b"TOP 1 3")
    assert got == data
    st, got = p.multi_cmd(b"TOP 1 100")
    assert got == data
    # TOP does not delete or mark anything
    assert p.stat()[0] == 1
    p.quit()
    assert mail_files(petrel)[0].read_bytes() == data


def test_top_long_and_empty_body_lines(petrel):
    body = b"\r\n" + b"z" * 200000 + b"\r\nafter\r\n"
    deliver(petrel, [message("toplong", body)])
    data = mail_files(petrel)[0].read_bytes()
    head = data[:data.index(b"\r\n\r\n") + 4]
    p = Pop(petrel.pop3_port)
    p.login()
    assert p.multi_cmd(b"TOP 1 1")[1] == head + b"\r\n"
    assert p.multi_cmd(b"TOP 1 2")[1] == head + b"\r\n" + b"z" * 200000 \
        + b"\r\n"
    p.quit()


def test_retr_file_gone_under_the_session(petrel):
    deliver(petrel, [message("a"), message("b")])
    p = Pop(petrel.pop3_port)
    p.login()
    victim = in_arrival_order(mail_files(petrel))[0]
    victim.unlink()
    st = p.cmd(b"RETR 1")
    assert st.startswith(b"-ERR"), st
    assert header(p.retr(2), b"Subject") == b"b"
    assert p.cmd(b"DELE 1").startswith(b"+OK")  # already gone = deleted
    p.quit()
    assert len(mail_files(petrel)) == 1


# --- UIDL --------------------------------------------------------------------

def test_uidl_stable_and_never_reused(petrel):
    deliver(petrel, [message("m%d" % i) for i in range(3)])
    p = Pop(petrel.pop3_port)
    p.login()
    u1 = p.listing(b"UIDL")
    assert len(set(u1.values())) == 3
    for uid in u1.values():  # RFC 1939 §7: 1-70 chars 0x21-0x7E
        assert 1 <= len(uid) <= 70
        assert all(0x21 <= ord(ch) <= 0x7e for ch in uid)
    first = header(p.retr(1), b"Subject")
    p.quit()
    p = Pop(petrel.pop3_port)
    p.login()
    assert p.listing(b"UIDL") == u1
    assert p.cmd(b"UIDL 2") == b"+OK 2 " + u1[2].encode()
    assert p.cmd(b"DELE 1").startswith(b"+OK")
    assert p.cmd(b"UIDL 1").startswith(b"-ERR")
    assert 1 not in p.listing(b"UIDL")
    p.quit()
    # moving a message to cur/ (another client read it) keeps its UID
    box = petrel.data_dir / "mail" / "example.org" / "alice"
    (box / "cur").mkdir(exist_ok=True)
    f = in_arrival_order((box / "new").iterdir())[0]
    f.rename(box / "cur" / (f.name + ":2,S"))
    deliver(petrel, [message("new%d" % i) for i in range(2)])
    p = Pop(petrel.pop3_port)
    p.login()
    u2 = p.listing(b"UIDL")
    assert len(u2) == 4
    assert [u2[1], u2[2]] == [u1[2], u1[3]]
    assert u1[1] not in u2.values()
    assert len(set(u2.values())) == 4
    assert header(p.retr(1), b"Subject") != first
    assert header(p.retr(3), b"Subject") == b"new0"
    p.quit()


# --- deletion only in UPDATE -------------------------------------------------

def test_dele_only_at_quit(petrel):
    deliver(petrel, [message("m%d" % i) for i in range(3)])
    p = Pop(petrel.pop3_port)
    p.login()
    assert p.cmd(b"DELE 2").startswith(b"+OK")
    assert p.cmd(b"DELE 2").startswith(b"-ERR")   # already deleted
    assert p.cmd(b"RETR 2").startswith(b"-ERR")
    assert p.cmd(b"TOP 2 0").startswith(b"-ERR")
    assert p.cmd(b"LIST 2").startswith(b"-ERR")
    assert sorted(p.listing(b"LIST")) == [1, 3]
    assert p.stat()[0] == 2
    assert len(mail_files(petrel)) == 3  # nothing happened on disk yet
    p.quit()
    assert len(mail_files(petrel)) == 2
    p = Pop(petrel.pop3_port)
    p.login()
    assert subjects(p, 2) == ["m0", "m2"]
    p.quit()


def test_dropped_connection_deletes_nothing(petrel):
    deliver(petrel, [message("m%d" % i) for i in range(3)])
    p = Pop(petrel.pop3_port)
    p.login()
    for i in (1, 2, 3):
        assert p.cmd(b"DELE %d" % i).startswith(b"+OK")
    p.close()  # no QUIT
    q, _ = wait_login(petrel.pop3_port)
    assert q.stat()[0] == 3
    q.quit()
    assert len(mail_files(petrel)) == 3


def test_dropped_mid_retr_deletes_nothing(petrel):
    deliver(petrel, [message("big", b"y" * 3000000 + b"\r\n"),
                     message("small")])
    p = Pop(petrel.pop3_port)
    p.login()
    assert p.cmd(b"DELE 2").startswith(b"+OK")
    p.send(b"RETR 1\r\n")
    p.sock.recv(1000)
    p.close()
    q, _ = wait_login(petrel.pop3_port)
    assert q.stat()[0] == 2
    q.quit()


def test_rset_undoes_dele(petrel):
    deliver(petrel, [message("m%d" % i) for i in range(3)])
    p = Pop(petrel.pop3_port)
    p.login()
    before = p.stat()
    assert p.cmd(b"DELE 1").startswith(b"+OK")
    assert p.cmd(b"DELE 3").startswith(b"+OK")
    assert p.stat()[0] == 1
    assert p.cmd(b"RSET").startswith(b"+OK")
    assert p.stat() == before
    assert header(p.retr(1), b"Subject") == b"m0"
    assert p.cmd(b"DELE 2").startswith(b"+OK")
    p.quit()
    assert len(mail_files(petrel)) == 2


def test_quit_in_authorization_deletes_nothing(petrel):
    deliver(petrel, [message("a")])
    p = Pop(petrel.pop3_port)
    assert p.cmd(b"USER " + ALICE).startswith(b"+OK")
    p.quit()
    assert len(mail_files(petrel)) == 1


# --- the maildrop lock -------------------------------------------------------

def test_lock_second_session_in_use(petrel):
    deliver(petrel, [message("a")])
    first = Pop(petrel.pop3_port)
    first.login()
    second = Pop(petrel.pop3_port)
    assert second.cmd(b"USER " + ALICE).startswith(b"+OK")
    st = second.cmd(b"PASS secret")
    assert st.startswith(b"-ERR [IN-USE]"), st
    # AUTH PLAIN too, and the user name's case changes nothing
    st = second.cmd(b"AUTH PLAIN " + plain(b"ALICE@Example.ORG"))
    assert st.startswith(b"-ERR [IN-USE]"), st
    # other mailboxes are not affected
    other = Pop(petrel.pop3_port)
    other.login(b"bob@example.org")
    other.quit()
    assert first.cmd(b"DELE 1").startswith(b"+OK")
    first.quit()
    # the lock is gone with the first session: same connection retries
    st = second.cmd(b"PASS secret")
    assert st.startswith(b"-ERR")  # USER must come again
    second.login()
    assert second.stat() == (0, 0)
    second.quit()


def test_lock_released_when_socket_dropped(petrel):
    first = Pop(petrel.pop3_port)
    first.login()
    first.close()
    p, _ = wait_login(petrel.pop3_port, 3.0)
    p.quit()


CHILD = r"""
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
assert f.readline().startswith(b"+OK")
s.sendall(b"USER alice@example.org\r\n")
assert f.readline().startswith(b"+OK")
s.sendall(b"PASS secret\r\n")
line = f.readline()
print(line.decode().strip(), flush=True)
time.sleep(60)
"""


def test_lock_released_when_client_killed(petrel):
    child = subprocess.Popen([sys.executable, "-c", CHILD,
                              str(petrel.pop3_port)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().startswith("+OK")
        p = Pop(petrel.pop3_port)
        p.cmd(b"USER " + ALICE)
        assert p.cmd(b"PASS secret").startswith(b"-ERR [IN-USE]")
        p.close()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=5)
        t0 = time.monotonic()
        p, _ = wait_login(petrel.pop3_port, 3.0)
        assert time.monotonic() - t0 < 3.0
        p.quit()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


FLOCKER = r"""
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def test_lock_held_by_dead_process(petrel):
    """A maildrop lock held by another process counts as in use, and the
    kernel releases it when that process dies (kill -9)."""
    p = Pop(petrel.pop3_port)
    p.login()
    p.quit()  # the folder and its lock file exist now
    lock = petrel.data_dir / "mail" / "example.org" / "alice" / \
        "petrel-pop3.lock"
    assert lock.exists()
    child = subprocess.Popen([sys.executable, "-c", FLOCKER, str(lock)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        p = Pop(petrel.pop3_port)
        p.cmd(b"USER " + ALICE)
        assert p.cmd(b"PASS secret").startswith(b"-ERR [IN-USE]")
        p.close()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=5)
        p, _ = wait_login(petrel.pop3_port, 2.0)
        p.quit()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


# --- pipelining --------------------------------------------------------------

def test_pipelining_one_write(petrel):
    msgs = [message("p1", b".dot\r\n"), message("p2")]
    deliver(petrel, msgs)
    files = [f.read_bytes() for f in in_arrival_order(mail_files(petrel))]
    p = Pop(petrel.pop3_port)
    p.send(b"USER alice@example.org\r\nPASS secret\r\nSTAT\r\nLIST\r\n"
           b"UIDL\r\nRETR 1\r\nTOP 2 0\r\nDELE 2\r\nNOOP\r\nQUIT\r\n")
    assert p.line().startswith(b"+OK")              # USER
    assert p.line().startswith(b"+OK")              # PASS
    size = sum(len(f) for f in files)
    assert p.line() == b"+OK 2 %d" % size           # STAT
    assert p.line().startswith(b"+OK")              # LIST
    assert p.multi() == b"1 %d\r\n2 %d\r\n" % (len(files[0]), len(files[1]))
    assert p.line().startswith(b"+OK")              # UIDL
    assert len(p.multi().split(b"\r\n")) == 3
    assert p.line().startswith(b"+OK")              # RETR 1
    assert p.multi() == files[0]
    assert p.line().startswith(b"+OK")              # TOP 2 0
    data = files[1]
    assert p.multi() == data[:data.index(b"\r\n\r\n") + 4]
    assert p.line().startswith(b"+OK")              # DELE 2
    assert p.line().startswith(b"+OK")              # NOOP
    assert p.line().startswith(b"+OK")              # QUIT
    assert p.closed()
    assert p.buf == b""
    assert len(mail_files(petrel)) == 1


def test_pipelining_failed_login_then_commands(petrel):
    p = Pop(petrel.pop3_port)
    p.send(b"USER alice@example.org\r\nPASS wrong\r\nSTAT\r\n"
           b"AUTH PLAIN " + plain() + b"\r\nSTAT\r\nQUIT\r\n")
    assert p.line().startswith(b"+OK")
    assert p.line().startswith(b"-ERR [AUTH]")
    assert p.line().startswith(b"-ERR")              # STAT before login
    assert p.line().startswith(b"+OK")
    assert p.line() == b"+OK 0 0"
    assert p.line().startswith(b"+OK")
    assert p.closed()


def test_pipelining_many_retr_slow_reader(petrel):
    """Many big answers queued at once: the server must not buffer
    without bound nor lose order when the client reads slowly."""
    big = message("big", (b"q" * 998 + b"\r\n") * 600)
    deliver(petrel, [big])
    data = mail_files(petrel)[0].read_bytes()
    p = Pop(petrel.pop3_port)
    p.login()
    p.send(b"RETR 1\r\n" * 40 + b"NOOP\r\n")
    time.sleep(0.3)
    for _ in range(40):
        assert p.line().startswith(b"+OK")
        assert p.multi() == data
    assert p.line().startswith(b"+OK")
    p.quit()


# --- a consistent snapshot under concurrent delivery -------------------------

def test_snapshot_while_mail_arrives(petrel):
    deliver(petrel, [message("old%d" % i) for i in range(5)])
    p = Pop(petrel.pop3_port)
    p.login()
    stat = p.stat()
    lst = p.listing(b"LIST")
    uidl = p.listing(b"UIDL")
    assert stat[0] == 5
    stop = time.time() + 20
    t = threading.Thread(target=deliver,
                         args=(petrel, [message("new%d" % i)
                                        for i in range(10)]))
    t.start()
    while t.is_alive() and time.time() < stop:
        assert p.stat() == stat
        assert p.listing(b"UIDL") == uidl
        time.sleep(0.02)
    t.join(timeout=30)
    assert not t.is_alive()
    assert len(mail_files(petrel)) == 15
    assert p.stat() == stat
    assert p.listing(b"LIST") == lst
    assert p.listing(b"UIDL") == uidl
    assert p.cmd(b"RETR 6").startswith(b"-ERR")
    assert subjects(p, 5) == sorted("old%d" % i for i in range(5))
    assert p.cmd(b"DELE 1").startswith(b"+OK")
    p.quit()
    p = Pop(petrel.pop3_port)
    p.login()
    assert p.stat()[0] == 14
    uidl2 = p.listing(b"UIDL")
    assert [uidl2[i] for i in range(1, 5)] == [uidl[i] for i in range(2, 6)]
    assert len(set(uidl2.values())) == 14
    got = subjects(p, 14)
    assert got == sorted(["old%d" % i for i in range(1, 5)]
                         + ["new%d" % i for i in range(10)])
    ids = [header(p.retr(i), b"Message-ID") for i in range(1, 15)]
    assert len(set(ids)) == 14
    p.quit()


# --- a big mailbox -----------------------------------------------------------

def test_two_thousand_messages(petrel):
    n = 2000
    t0 = time.monotonic()
    deliver(petrel, [message("bulk%d" % i, b"body %d\r\n" % i)
                     for i in range(n)])
    assert time.monotonic() - t0 < 40
    files = {f.name: f.stat().st_size for f in mail_files(petrel)}
    assert len(files) == n
    p = Pop(petrel.pop3_port)
    t1 = time.monotonic()
    p.login()
    sizes = p.listing(b"LIST")
    assert len(sizes) == n and sorted(sizes) == list(range(1, n + 1))
    assert [int(sizes[i]) for i in range(1, n + 1)] == \
        [files[k] for k in sorted(files, key=arrival_key)]
    uidl = p.listing(b"UIDL")
    assert len(set(uidl.values())) == n
    assert p.stat() == (n, sum(files.values()))
    assert header(p.retr(n), b"Subject") == b"bulk%d" % (n - 1)
    assert time.monotonic() - t1 < 10
    p.quit()


@pytest.mark.skipif(not os.path.exists("/proc/self/fd"), reason="procfs")
def test_no_fd_leak_over_sessions(petrel):
    deliver(petrel, [message("a")])
    # Warm up: each password worker opens its directory connection on
    # first use, so log in from several clients at once first.
    warm = [Pop(petrel.pop3_port) for _ in range(4)]
    for w in warm:
        w.send(b"USER bob@example.org\r\nPASS secret\r\n")
    for w in warm:
        w.line()
        w.line()
        w.close()
    wait_login(petrel.pop3_port)[0].quit()
    fds = len(os.listdir("/proc/%d/fd" % petrel.proc.pid))
    for i in range(20):
        p = Pop(petrel.pop3_port)
        if i % 3 == 0:
            p.login()
            p.retr(1)
            p.quit()
        elif i % 3 == 1:
            p.login()
            p.send(b"RETR 1\r\n")
            p.close()
        else:
            p.cmd(b"USER " + ALICE)
            p.close()
    wait_login(petrel.pop3_port)[0].quit()
    deadline = time.time() + 3
    while time.time() < deadline:
        now = len(os.listdir("/proc/%d/fd" % petrel.proc.pid))
        if now <= fds:
            break
        time.sleep(0.1)
    assert now <= fds, (fds, now)


# --- shutdown ----------------------------------------------------------------

def drain(p, out):
    """Read p until EOF (bounded by its socket timeout) into out."""
    try:
        while True:
            chunk = p.sock.recv(1 << 20)
            if not chunk:
                break
            out.append(chunk)
    except OSError:
        pass


def test_sigterm_closes_every_pop3_session_promptly(petrel):
    """SIGTERM: every POP3 session, whatever it is doing, gets
    '-ERR [SYS/TEMP]' and is closed at once, nothing is deleted, and
    petrel exits 0 well before its 10 s grace period."""
    deliver(petrel, [message("big", b"y" * 3000000 + b"\r\n"),
                     message("small")])
    a = Pop(petrel.pop3_port)       # logged in, DELE pending, in a RETR
    a.login()
    assert a.cmd(b"DELE 2").startswith(b"+OK")
    b = Pop(petrel.pop3_port)                   # in the failed-login delay
    assert b.cmd(b"USER bob@example.org").startswith(b"+OK")
    b.send(b"PASS wrong\r\n")
    c = Pop(petrel.pop3_port)                   # logged in, idle
    c.login(b"bob@example.org")
    idle = Pop(petrel.pop3_port)                # just connected
    d = Pop(petrel.pop3_port)                   # a second alice: [IN-USE]
    assert d.cmd(b"USER " + ALICE).startswith(b"+OK")
    assert d.cmd(b"PASS secret").startswith(b"-ERR [IN-USE]")
    a.send(b"RETR 1\r\n")
    first = a.sock.recv(1000)
    assert first.startswith(b"+OK")
    time.sleep(0.2)
    outs = {k: [] for k in "abcid"}
    threads = [threading.Thread(target=drain, args=(conn, outs[k]))
               for k, conn in zip("abcid", (a, b, c, idle, d))]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    petrel.proc.send_signal(signal.SIGTERM)
    rc = petrel.proc.wait(timeout=20)
    took = time.monotonic() - t0
    for t in threads:
        t.join(timeout=20)
    assert rc == 0, petrel.log()[-3000:]
    assert took < 5, (took, petrel.log()[-3000:])
    for k in "bcid":
        text = b"".join(outs[k])
        assert b"-ERR [SYS/TEMP]" in text, (k, text)
        assert b"+OK" not in text, (k, text)
    # the DELE was never committed
    assert len(mail_files(petrel)) == 2
    petrel.start()
    p = Pop(petrel.pop3_port)
    p.login()
    assert p.stat()[0] == 2
    p.quit()

