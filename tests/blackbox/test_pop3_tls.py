"""POP3 over TLS: STLS (RFC 2595) and POP3S (RFC 8314), including the
plaintext-injection case: commands pipelined after STLS in the clear must
never run inside the TLS session."""
import poplib
import socket
import ssl

from conftest import free_port


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_stls_then_login(petrel):
    p = poplib.POP3("127.0.0.1", petrel.pop3_port, timeout=10)
    assert "STLS" in p.capa()
    assert p.stls(client_ctx()).startswith(b"+OK")
    assert p.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert "STLS" not in p.capa()
    p.user("alice@example.org")
    assert p.pass_("secret").startswith(b"+OK")
    assert p.stat() == (0, 0)
    p.quit()


def test_stls_discards_pipelined_plaintext(petrel):
    s = socket.create_connection(("127.0.0.1", petrel.pop3_port), timeout=10)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    # USER pipelined in the clear after STLS: must be thrown away.
    s.sendall(b"STLS\r\nUSER alice@example.org\r\n")
    assert f.readline().startswith(b"+OK")
    t = client_ctx().wrap_socket(s, server_hostname="mx.example.org")
    tf = t.makefile("rb")
    # Were USER run inside TLS, PASS would be accepted now.
    t.sendall(b"PASS secret\r\n")
    assert tf.readline().startswith(b"-ERR")
    t.sendall(b"QUIT\r\n")
    assert tf.readline().startswith(b"+OK")
    t.close()


def test_stls_twice_refused(petrel):
    p = poplib.POP3("127.0.0.1", petrel.pop3_port, timeout=10)
    p.stls(client_ctx())
    # poplib refuses a second stls() by itself; ask the server directly.
    try:
        p._shortcmd("STLS")
        raise AssertionError("second STLS accepted")
    except poplib.error_proto as e:
        assert e.args[0].startswith(b"-ERR"), e.args
    p.user("alice@example.org")  # the TLS session still works
    assert p.pass_("secret").startswith(b"+OK")
    p.quit()


def test_pop3s(petrel_factory):
    port = free_port()
    p = petrel_factory(extra={"pop3s_listen": f"127.0.0.1:{port}"})
    m = poplib.POP3_SSL("127.0.0.1", port, context=client_ctx(), timeout=10)
    assert "STLS" not in m.capa()
    m.user("alice@example.org")
    assert m.pass_("secret").startswith(b"+OK")
    m.quit()
    assert p.proc.poll() is None
