"""AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, only over TLS; the
failure delay and per-address failure limit; submission on 587 and 465
(RFC 6409, RFC 8314): AUTH before MAIL, the sender must be the user's own,
authenticated clients may relay."""
import threading
import time

import pytest

from conftest import Raw
from tlsutil import (auth_plain, b64, client_ctx, ehlo_lines, greeted,
                     local_send_ok, plain_b64, submit)

ALICE = "alice@example.org"


def tls_session(p, port_name="submission_port", source=None):
    port = getattr(p, port_name)
    return greeted(port, source=source, tls=port_name != "smtps_port",
                   implicit=port_name == "smtps_port")


# --- mechanisms ---

@pytest.mark.parametrize("port_name", ["port", "submission_port",
                                       "smtps_port"])
def test_plain_initial_response(petrel, port_name):
    c = tls_session(petrel, port_name)
    code, lines = auth_plain(c)
    assert (code, lines[0][:9]) == (235, b"235 2.7.0"), lines
    # AUTH is no longer offered once authenticated.
    assert not any(x.startswith(b"AUTH") for x in ehlo_lines(c))
    c.close()
    assert f"sasl_method=PLAIN, sasl_username={ALICE}" in petrel.log()


def test_plain_with_continuation(petrel):
    c = tls_session(petrel)
    code, lines = c.cmd(b"AUTH PLAIN")
    assert code == 334, lines
    assert lines == [b"334 "]
    code, lines = c.cmd(plain_b64(ALICE, "secret").encode())
    assert code == 235, lines
    c.close()


def test_plain_with_authzid_and_empty_initial(petrel):
    c = tls_session(petrel)
    code, lines = c.cmd(b"AUTH PLAIN =")  # "=": empty initial response
    assert code in (501, 535), lines
    c.close()
    c = tls_session(petrel)
    code, lines = c.cmd(
        b"AUTH PLAIN " + plain_b64(ALICE, "secret", authzid=ALICE).encode())
    assert code == 235, lines
    c.close()


def test_login_both_steps(petrel):
    c = tls_session(petrel)
    code, lines = c.cmd(b"AUTH LOGIN")
    assert lines == [b"334 VXNlcm5hbWU6"]
    code, lines = c.cmd(b64(ALICE).encode())
    assert lines == [b"334 UGFzc3dvcmQ6"]
    code, lines = c.cmd(b64("secret").encode())
    assert code == 235, lines
    code, lines = submit(c, ALICE, ["bob@example.org"])
    assert code == 250, lines
    c.close()


def test_login_with_initial_username(petrel):
    c = tls_session(petrel, "smtps_port")
    code, lines = c.cmd(b"AUTH LOGIN " + b64(ALICE).encode())
    assert lines == [b"334 UGFzc3dvcmQ6"]
    assert c.cmd(b64("secret").encode())[0] == 235
    c.close()


def test_case_insensitive_user(petrel):
    c = tls_session(petrel)
    assert auth_plain(c, user="Alice@EXAMPLE.org")[0] == 235
    c.close()


# --- failures ---

def test_bad_password_535_after_delay_others_served(petrel):
    slow = tls_session(petrel)
    other = greeted(petrel.port)
    t0 = time.monotonic()
    slow.send(b"AUTH PLAIN " + plain_b64(ALICE, "wrong").encode() + b"\r\n")
    # Meanwhile another session is served at once: the delay stalls only
    # the failing session, not the server.
    time.sleep(0.1)
    t1 = time.monotonic()
    assert other.cmd(b"NOOP")[0] == 250
    assert time.monotonic() - t1 < 0.5
    code, lines = submit(other, "x@example.net", ["bob@example.org"])
    assert code == 250, lines
    assert time.monotonic() - t0 < 0.9  # served before the 535 came
    code, lines = slow.reply()
    elapsed = time.monotonic() - t0
    assert code == 535, lines
    assert lines[0].startswith(b"535 5.7.8"), lines
    assert elapsed >= 0.9, elapsed
    # The session may try again (and succeed).
    assert auth_plain(slow)[0] == 235
    slow.close()
    other.close()
    log = petrel.log()
    assert f"[127.0.0.1]: SASL PLAIN authentication failed for <{ALICE}>" \
        in log, log


def test_unknown_user_535(petrel):
    c = tls_session(petrel)
    code, lines = auth_plain(c, user="nobody@example.org")
    assert code == 535, lines
    c.close()
    assert "authentication failed for <nobody@example.org>" in petrel.log()
    local_send_ok(petrel)


def test_login_bad_password_535(petrel):
    c = tls_session(petrel, "smtps_port")
    c.cmd(b"AUTH LOGIN")
    c.cmd(b64(ALICE).encode())
    code, lines = c.cmd(b64("nope").encode())
    assert code == 535, lines
    c.close()
    assert "[127.0.0.1]: SASL LOGIN authentication failed" in petrel.log()
    local_send_ok(petrel)


@pytest.mark.parametrize("mech", [b"PLAIN", b"LOGIN"])
def test_cancel_501(petrel, mech):
    c = tls_session(petrel)
    assert c.cmd(b"AUTH " + mech)[0] == 334
    code, lines = c.cmd(b"*")
    assert code == 501 and lines[0].startswith(b"501 5.0.0"), lines
    # Not authenticated, but the session goes on and AUTH works again.
    assert c.cmd(b"MAIL FROM:<alice@example.org>")[0] == 530
    assert auth_plain(c)[0] == 235
    c.close()
    local_send_ok(petrel)


@pytest.mark.parametrize("line", [b"AUTH PLAIN !!!notbase64!!!",
                                  b"AUTH PLAIN AAAA=AAA",
                                  b"AUTH LOGIN $$$"])
def test_malformed_base64_501(petrel, line):
    c = tls_session(petrel)
    code, lines = c.cmd(line)
    assert code == 501 and lines[0].startswith(b"501 5.5.2"), lines
    assert c.cmd(b"NOOP")[0] == 250
    c.close()
    local_send_ok(petrel)


def test_malformed_continuation_501(petrel):
    c = tls_session(petrel)
    assert c.cmd(b"AUTH PLAIN")[0] == 334
    code, lines = c.cmd(b"%%%%")
    assert code == 501 and lines[0].startswith(b"501 5.5.2"), lines
    c.close()
    local_send_ok(petrel)


@pytest.mark.parametrize("port_name", ["port", "submission_port"])
def test_auth_before_tls_538_and_not_offered(petrel, port_name):
    c = Raw(getattr(petrel, port_name))
    assert c.reply()[0] == 220
    caps = ehlo_lines(c)
    assert not any(x.startswith(b"AUTH") for x in caps), caps
    code, lines = auth_plain(c)
    assert code == 538 and lines[0].startswith(b"538 5.7.11"), lines
    # No password was ever checked for it.
    assert "sasl_username" not in petrel.log()
    c.close()
    local_send_ok(petrel)


def test_second_auth_503(petrel):
    c = tls_session(petrel)
    assert auth_plain(c)[0] == 235
    code, lines = auth_plain(c, user="bob@example.org")
    assert code == 503, lines
    c.close()
    local_send_ok(petrel)


def test_auth_inside_transaction_503(petrel):
    c = greeted(petrel.port, tls=True)
    assert c.cmd(b"MAIL FROM:<x@example.net>")[0] == 250
    code, lines = auth_plain(c)
    assert code == 503, lines
    assert c.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    code, lines = auth_plain(c)
    assert code == 503, lines
    c.cmd(b"RSET")
    assert auth_plain(c)[0] == 235
    c.close()
    local_send_ok(petrel)


def test_auth_before_ehlo_503(petrel):
    c = Raw(petrel.smtps_port)
    c.sock = client_ctx().wrap_socket(c.sock)
    assert c.reply()[0] == 220
    code, lines = auth_plain(c)
    assert code == 503, lines
    c.close()
    local_send_ok(petrel)


def test_unknown_mechanism_504(petrel):
    c = tls_session(petrel)
    for mech in (b"CRAM-MD5", b"XOAUTH2 abc", b"GSSAPI"):
        code, lines = c.cmd(b"AUTH " + mech)
        assert code == 504, lines
    assert c.cmd(b"AUTH")[0] == 501
    c.close()
    local_send_ok(petrel)


def test_failure_limit_454(petrel_factory):
    p = petrel_factory(extra={"max_auth_failures": "3"})
    # Three failures at once from three sessions (each takes ~1 s).
    conns = [tls_session(p) for _ in range(3)]
    for c in conns:
        c.send(b"AUTH PLAIN " + plain_b64(ALICE, "bad").encode() + b"\r\n")
    for c in conns:
        code, lines = c.reply()
        assert code == 535, lines
        c.close()
    # Now refused outright, even with the right password, on every port.
    for port_name in ("submission_port", "smtps_port", "port"):
        c = tls_session(p, port_name)
        t0 = time.monotonic()
        code, lines = auth_plain(c)
        assert code == 454 and lines[0].startswith(b"454 4.7.0"), lines
        assert time.monotonic() - t0 < 0.8
        c.close()
    log = p.log()
    fails = [ln for ln in log.splitlines()
             if "authentication failed" in ln]
    assert len(fails) == 3, log
    assert all("[127.0.0.1]" in ln for ln in fails), fails
    assert "[127.0.0.1]: AUTH refused: too many failed" in log
    # Another address is not affected.
    c = tls_session(p, source="127.0.0.2")
    assert auth_plain(c)[0] == 235
    c.close()
    local_send_ok(p)


# --- submission ---

@pytest.mark.parametrize("port_name", ["submission_port", "smtps_port"])
def test_mail_before_auth_530(petrel, port_name):
    c = tls_session(petrel, port_name)
    code, lines = c.cmd(b"MAIL FROM:<alice@example.org>")
    assert code == 530 and lines[0].startswith(b"530 5.7.0"), lines
    c.close()
    local_send_ok(petrel)


def test_mail_before_tls_on_587_530(petrel):
    c = greeted(petrel.submission_port)
    code, lines = c.cmd(b"MAIL FROM:<alice@example.org>")
    assert code == 530, lines
    c.close()
    local_send_ok(petrel)


@pytest.mark.parametrize("port_name", ["submission_port", "smtps_port"])
def test_sender_ownership(petrel, port_name):
    petrel.cli("alias", "add", "sales@example.org", "alice@example.org")
    petrel.cli("alias", "add", "team@example.org", "alice@example.org",
               "bob@example.org")
    c = tls_session(petrel, port_name)
    assert auth_plain(c)[0] == 235
    for sender in ("alice@example.org", "alice+tag@example.org",
                   "Alice@Example.ORG", "sales@example.org",
                   "team@example.org"):
        code, lines = submit(c, sender, ["bob@example.org"])
        assert code == 250, (sender, lines)
    for sender in ("bob@example.org", "ceo@example.org", "x@example.net",
                   ""):
        code, lines = c.cmd(b"MAIL FROM:<" + sender.encode() + b">")
        assert code == 553 and lines[0].startswith(b"553 5.7.1"), \
            (sender, lines)
    c.close()
    assert len(petrel.wait_mailbox("bob", 5)) == 5
    assert "sender <bob@example.org> refused" in petrel.log()


@pytest.mark.parametrize("port_name", ["submission_port", "smtps_port"])
def test_authenticated_relay(petrel, port_name):
    c = tls_session(petrel, port_name, source="127.0.0.2")
    assert auth_plain(c)[0] == 235
    code, lines = submit(c, ALICE, ["friend@example.net"])
    assert code == 250, lines
    c.close()
    out = petrel.cli("queue", "list").stdout
    assert "friend@example.net" in out, out


def test_unauthenticated_untrusted_no_relay_on_587(petrel):
    # Same client, no AUTH: nothing at all (530), so no relay.
    c = tls_session(petrel, source="127.0.0.2")
    assert c.cmd(b"MAIL FROM:<alice@example.org>")[0] == 530
    assert c.cmd(b"RCPT TO:<friend@example.net>")[0] == 503
    c.close()
    assert "Mail queue is empty" in petrel.cli("queue", "list").stdout


def test_parallel_auth_sessions(petrel):
    # Several sessions authenticating at once, one of them failing: the
    # others are answered without waiting for its delay.
    results = {}

    def run(i):
        c = tls_session(petrel)
        t0 = time.monotonic()
        pw = "bad" if i == 0 else "secret"
        code, _ = auth_plain(c, password=pw)
        results[i] = (code, time.monotonic() - t0)
        c.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results[0][0] == 535
    for i in range(1, 6):
        assert results[i][0] == 235, results
        assert results[i][1] < 0.9, results
