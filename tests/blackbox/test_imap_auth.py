"""IMAP: greeting, CAPABILITY, STARTTLS (and plaintext pipelined after it),
LOGIN / AUTHENTICATE PLAIN with SASL-IR, LOGINDISABLED before TLS, failed
logins delayed and counted with SMTP's and POP3's, IMAPS, ID, ENABLE,
LOGOUT, and the protocol's limits: literals refused before they are sent,
2^32 numbers, long lines, too many bad commands."""

import base64
import imaplib
import smtplib
import ssl
import time

from imaputil import Imap, PASSWORD, USER, session, tls_ctx
from pop3util import Pop
from tlsutil import client_ctx


def plain(user=USER, password=PASSWORD.encode()):
    return base64.b64encode(b"\0" + user + b"\0" + password)


def test_greeting_and_capability_before_tls(petrel):
    c = Imap(petrel.imap_port)
    assert c.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 ")
    caps = c.greeting.split(b"]")[0].split()[2:]
    assert b"STARTTLS" in caps and b"LOGINDISABLED" in caps
    assert not any(x.startswith(b"AUTH=") for x in caps)
    untagged, _ = c.ok(b"CAPABILITY")
    assert untagged[0].startswith(b"* CAPABILITY IMAP4rev1 ")
    # No password in the clear (RFC 3501 §6.2.3).
    st, text, _ = c.cmd(b"LOGIN alice@example.org secret")
    assert st == b"NO" and b"[PRIVACYREQUIRED]" in text
    st, text, _ = c.cmd(b"AUTHENTICATE PLAIN " + plain())
    assert st == b"NO" and b"[PRIVACYREQUIRED]" in text
    # Commands of other states are BAD, not harmful.
    st, text, _ = c.cmd(b"SELECT INBOX")
    assert st == b"BAD"
    st, _, _ = c.cmd(b"NOOP")
    assert st == b"OK"
    untagged, _ = c.ok(b"LOGOUT")
    assert untagged == [b"* BYE Logging out"]
    assert c.closed()


def test_starttls_login_and_capability_after(petrel):
    c = Imap(petrel.imap_port)
    c.starttls()
    untagged, _ = c.ok(b"CAPABILITY")
    caps = untagged[0].split()[2:]
    assert b"AUTH=PLAIN" in caps and b"STARTTLS" not in caps
    assert b"LOGINDISABLED" not in caps
    st, text, _ = c.cmd(b"STARTTLS")
    assert st == b"BAD"
    untagged, text = c.login()
    assert text.startswith(b"[CAPABILITY IMAP4rev1 ")
    for cap in (b"IDLE", b"UIDPLUS", b"MOVE", b"CONDSTORE", b"QRESYNC",
                b"SPECIAL-USE", b"QUOTA", b"COMPRESS=DEFLATE", b"ESEARCH",
                b"LIST-STATUS", b"NAMESPACE", b"LITERAL+", b"ENABLE"):
        assert cap in text.split(b"]")[0].split(), cap
    st, _, _ = c.cmd(b"LOGIN alice@example.org secret")
    assert st == b"BAD"  # not in the authenticated state
    c.close()


def test_starttls_discards_pipelined_plaintext(petrel):
    # The CVE-2011-0411 class: what follows STARTTLS in the same packet
    # must not be executed after the handshake.
    c = Imap(petrel.imap_port)
    c.send(b"a STARTTLS\r\nb LOGIN alice@example.org secret\r\n")
    r = c.response()
    assert r == b"a OK Begin TLS negotiation now", r
    c.sock = tls_ctx().wrap_socket(c.sock)
    st, _, untagged = c.cmd(b"NOOP")
    assert st == b"OK" and untagged == []  # b's answer never comes
    st, _, untagged = c.cmd(b"SELECT INBOX")
    assert st == b"BAD"  # still not logged in
    assert b"discarded" in petrel.log().encode()
    c.close()


def test_authenticate_plain_sasl_ir_and_continuation(petrel):
    c = Imap(petrel.imaps_port, implicit_tls=True)
    assert b"AUTH=PLAIN" in c.greeting
    st, text, _ = c.cmd(b"AUTHENTICATE PLAIN " + plain())
    assert st == b"OK" and text.startswith(b"[CAPABILITY ")
    c.close()
    # Without an initial response: "+ " and the response on its own line.
    c = Imap(petrel.imaps_port, implicit_tls=True)
    c.send(b"a AUTHENTICATE PLAIN\r\n")
    assert c.response() == b"+ "
    c.send(plain() + b"\r\n")
    st, text, _ = c.wait(b"a")
    assert st == b"OK"
    c.close()
    # "*" cancels: BAD (RFC 3501 §6.2.2); garbage is BAD too.
    c = Imap(petrel.imaps_port, implicit_tls=True)
    c.send(b"a AUTHENTICATE PLAIN\r\n")
    assert c.response() == b"+ "
    c.send(b"*\r\n")
    st, _, _ = c.wait(b"a")
    assert st == b"BAD"
    st, _, _ = c.cmd(b"AUTHENTICATE PLAIN !!notbase64")
    assert st == b"BAD"
    st, text, _ = c.cmd(b"AUTHENTICATE CRAM-MD5")
    assert st == b"NO"
    c.login()
    c.close()


def test_imaplib_ssl_and_starttls(petrel):
    # The standard library client, both ways.
    m = imaplib.IMAP4_SSL("127.0.0.1", petrel.imaps_port,
                          ssl_context=client_ctx())
    assert m.login("alice@example.org", "secret")[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    assert m.logout()[0] == "BYE"
    m = imaplib.IMAP4("127.0.0.1", petrel.imap_port)
    m.starttls(ssl_context=client_ctx())
    assert m.login("alice@example.org", "secret")[0] == "OK"
    assert m.logout()[0] == "BYE"


def test_failed_logins_delayed_counted_and_limited(petrel_factory):
    p = petrel_factory(extra={"max_auth_failures": "4"})
    c = Imap(p.imaps_port, implicit_tls=True)
    t0 = time.time()
    st, text, _ = c.cmd(b"LOGIN alice@example.org wrong")
    assert time.time() - t0 >= 0.9  # delayed
    assert st == b"NO" and b"[AUTHENTICATIONFAILED]" in text
    # An unknown user looks the same.
    st, text2, _ = c.cmd(b"LOGIN nobody@example.org wrong")
    assert st == b"NO" and text2 == text
    # The delay holds this session only: another logs in meanwhile.
    c.send(b"x LOGIN alice@example.org wrong\r\n")
    t0 = time.time()
    other = Imap(p.imaps_port, implicit_tls=True)
    other.login()
    assert time.time() - t0 < 0.9
    other.close()
    st, _, _ = c.wait(b"x")
    assert st == b"NO"
    # Three in one session: BYE.
    assert c.response().startswith(b"* BYE ")
    assert c.closed()
    # The address has used 3 of its 4; one more over SMTP AUTH...
    c = Imap(p.imaps_port, implicit_tls=True)
    st, _, _ = c.cmd(b"AUTHENTICATE PLAIN " + plain(password=b"bad"))
    assert st == b"NO"
    # ... and now even the right password is refused, on every protocol.
    st, text, _ = c.cmd(b"LOGIN alice@example.org secret")
    assert st == b"NO" and b"[UNAVAILABLE]" in text
    s = smtplib.SMTP("127.0.0.1", p.submission_port, timeout=10)
    s.starttls(context=client_ctx())
    try:
        s.login("alice@example.org", "secret")
        assert False, "AUTH accepted past the limit"
    except smtplib.SMTPException as e:
        assert "454" in str(e) or getattr(e, "smtp_code", 0) == 454
    s.close()
    pop = Pop(p.pop3_port)
    assert pop.cmd(b"USER alice@example.org").startswith(b"+OK")
    r = pop.cmd(b"PASS secret")
    assert r.startswith(b"-ERR") and b"Too many failed logins" in r, r
    pop.close()
    log = p.log()
    assert "imap: authentication failed for <nobody@example.org> from " \
           "[127.0.0.1]" in log
    c.close()


def test_pop3_failures_count_for_imap(petrel_factory):
    # The limit is per address, whichever protocol guesses.
    p = petrel_factory(extra={"max_auth_failures": "2"})
    pop = Pop(p.pop3_port)
    for _ in range(2):
        assert pop.cmd(b"USER alice@example.org").startswith(b"+OK")
        assert pop.cmd(b"PASS wrong").startswith(b"-ERR")
    pop.close()
    c = Imap(p.imaps_port, implicit_tls=True)
    st, text, _ = c.cmd(b"LOGIN alice@example.org secret")
    assert st == b"NO" and b"[UNAVAILABLE]" in text
    c.close()


def test_id_enable_namespace(petrel):
    c = session(petrel, select=None)
    untagged, _ = c.ok(b'ID ("name" "test" "version" NIL)')
    assert untagged == [b'* ID ("name" "petrel" "vendor" "petrel")']
    untagged, _ = c.ok(b"ID NIL")
    untagged, _ = c.ok(b"ENABLE CONDSTORE X-UNKNOWN")
    assert untagged == [b"* ENABLED CONDSTORE"]
    untagged, _ = c.ok(b"ENABLE QRESYNC")
    assert untagged == [b"* ENABLED QRESYNC"]
    untagged, _ = c.ok(b"NAMESPACE")
    assert untagged == [b'* NAMESPACE (("" ".")) NIL NIL']
    c.close()


def test_literals_synchronizing_and_plus(petrel):
    c = Imap(petrel.imaps_port, implicit_tls=True)
    # Synchronizing: the server says "+" before each one.
    c.send(b"a LOGIN {17}\r\n")
    assert c.response().startswith(b"+ ")
    c.send(b"alice@example.org {6}\r\n")
    assert c.response().startswith(b"+ ")
    c.send(b"secret\r\n")
    st, _, _ = c.wait(b"a")
    assert st == b"OK"
    # LITERAL+: no wait.
    st, _, _ = c.cmd(b"SELECT {5+}\r\nINBOX")
    assert st == b"OK"
    c.close()


def test_literal_too_large_refused_before_sending(petrel):
    c = session(petrel)
    # Over the inline limit (64 KiB): refused instead of "+", and the
    # client's next command is read as usual.
    c.send(b"a SEARCH TEXT {10000000}\r\n")
    r = c.response()
    assert r.startswith(b"a BAD [TOOBIG]"), r
    st, _, _ = c.cmd(b"NOOP")
    assert st == b"OK"
    # A non-synchronizing one is read and dropped: nothing of it is
    # taken for a command.
    junk = b"z LOGOUT\r\n" * 10000
    c.send(b"b SEARCH TEXT {%d+}\r\n" % len(junk) + junk + b" ALL\r\n")
    st, text, _ = c.wait(b"b")
    assert st == b"BAD" and b"TOOBIG" in text
    st, _, _ = c.cmd(b"NOOP")
    assert st == b"OK"
    # An APPEND message over max_message_size: NO [TOOBIG] at once.
    c.send(b"c APPEND INBOX {4000000000}\r\n")
    r = c.response()
    assert r.startswith(b"c NO [TOOBIG]"), r
    st, _, _ = c.cmd(b"NOOP")
    assert st == b"OK"
    # 2^32 and beyond are no number at all.
    c.send(b"d APPEND INBOX {4294967296}\r\n")
    r = c.response()
    assert r.startswith(b"d BAD"), r
    c.close()


def test_numbers_are_32_bit(petrel):
    c = session(petrel)
    for cmd in (b"FETCH 4294967296 FLAGS", b"UID FETCH 1:4294967296 FLAGS",
                b"SEARCH LARGER 4294967296", b"UID SEARCH UID 99999999999",
                b"FETCH 1 BODY[]<4294967296.1>",
                b"STORE 18446744073709551617 FLAGS ()"):
        st, text, _ = c.cmd(cmd)
        assert st == b"BAD", (cmd, st, text)
    # 2^32 - 1 is a valid UID set member (and matches nothing here).
    st, _, untagged = c.cmd(b"UID FETCH 4294967295 FLAGS")
    assert st == b"OK" and untagged == []
    st, _, untagged = c.cmd(b"UID SEARCH UID 4294967295")
    assert st == b"OK" and untagged == [b"* SEARCH"]
    c.close()


def test_long_lines_and_bad_commands(petrel):
    c = session(petrel)
    c.send(b"a NOOP " + b"x" * 70000 + b"\r\n")
    r = c.response()
    assert r.startswith(b"a BAD [TOOBIG]"), r[:80]
    st, _, _ = c.cmd(b"NOOP")
    assert st == b"OK"
    # Too many bad commands: BYE (a broken client does not spin).
    for i in range(25):
        c.send(b"x%d FROB\r\n" % i)
    seen_bye = False
    for _ in range(30):
        try:
            r = c.response()
        except EOFError:
            break
        if r.startswith(b"* BYE"):
            seen_bye = True
            break
    assert seen_bye
    assert c.closed()
    # Another session is unaffected.
    d = session(petrel)
    d.ok(b"NOOP")
    d.close()


def test_logout_in_every_state_and_bye_on_shutdown(petrel):
    c = session(petrel)
    untagged, _ = c.ok(b"LOGOUT")
    assert untagged[0] == b"* BYE Logging out"
    assert c.closed()
    d = session(petrel, select=None)
    rc = petrel.stop()
    assert rc == 0
    assert d.response().startswith(b"* BYE")
