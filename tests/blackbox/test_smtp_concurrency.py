"""Many sessions at once, and misbehaving clients beside well-behaved ones.
Every loop is bounded in count and in time."""
import os
import smtplib
import socket
import threading
import time

from conftest import Raw, body_of, greet, raw_send

N_CLIENTS = 100


def test_hundred_concurrent_clients(petrel):
    results = [None] * N_CLIENTS
    bodies = [b"Subject: c%03d\r\nX-N: %d\r\n\r\n" % (i, i) +
              os.urandom(64).hex().encode() + b"\r\n" +
              b"line %d\r\n" % i * (i % 7 + 1)
              for i in range(N_CLIENTS)]
    start = threading.Barrier(N_CLIENTS, timeout=30)

    def client(i):
        try:
            start.wait()
            with smtplib.SMTP("127.0.0.1", petrel.port, timeout=60) as s:
                s.ehlo("c%d.example.net" % i)
                s.mail("c%d@example.net" % i)
                code, _ = s.rcpt("alice@example.org")
                assert code == 250
                code, msg = s.data(bodies[i])
                results[i] = code
        except Exception as e:  # reported below
            results[i] = repr(e)

    threads = [threading.Thread(target=client, args=(i,))
               for i in range(N_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not any(t.is_alive() for t in threads)
    assert results == [250] * N_CLIENTS, [r for r in results if r != 250]
    msgs = petrel.wait_mailbox("alice", N_CLIENTS, timeout=30)
    assert len(msgs) == N_CLIENTS
    assert sorted(body_of(m) for m in msgs) == sorted(bodies)


def test_concurrent_sessions_interleaved(petrel):
    """Ten sessions opened together, their commands interleaved."""
    conns = [greet(Raw(petrel.port)) for _ in range(10)]
    try:
        for c in conns:
            assert c.cmd(b"MAIL FROM:<x@example.net>")[0] == 250
        for c in conns:
            assert c.cmd(b"RCPT TO:<bob@example.org>")[0] == 250
        for c in conns:
            assert c.cmd(b"DATA")[0] == 354
        for i, c in enumerate(conns):
            c.send(b"Subject: i%d\r\n\r\n" % i)
        for i, c in enumerate(reversed(conns)):
            c.send(b"body %d\r\n.\r\n" % (9 - i))
        for c in conns:
            assert c.reply()[0] == 250
    finally:
        for c in conns:
            c.close()
    msgs = petrel.wait_mailbox("bob", 10)
    assert sorted(body_of(m) for m in msgs) == sorted(
        b"Subject: i%d\r\n\r\nbody %d\r\n" % (i, i) for i in range(10))


def test_bad_clients_do_not_disturb_good_one(petrel):
    good = greet(Raw(petrel.port))
    assert good.cmd(b"MAIL FROM:<good@example.net>")[0] == 250
    assert good.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert good.cmd(b"DATA")[0] == 354
    good.send(b"Subject: good\r\n\r\nfirst half\r\n")

    # One aborts in the middle of DATA.
    quitter = greet(Raw(petrel.port))
    assert quitter.cmd(b"MAIL FROM:<bad@example.net>")[0] == 250
    assert quitter.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert quitter.cmd(b"DATA")[0] == 354
    quitter.send(b"Subject: aborted\r\n\r\n" + b"partial line " * 1000)
    quitter.close()

    # One resets the connection mid-DATA (RST instead of FIN).
    rst = greet(Raw(petrel.port))
    assert rst.cmd(b"MAIL FROM:<rst@example.net>")[0] == 250
    assert rst.cmd(b"RCPT TO:<alice@example.org>")[0] == 250
    assert rst.cmd(b"DATA")[0] == 354
    rst.send(b"Subject: reset\r\n\r\nhalf")
    rst.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        b"\x01\x00\x00\x00\x00\x00\x00\x00")
    rst.close()

    # One sends binary garbage, NULs and an endless line, then vanishes.
    # The server may hang up on it first (too many errors: 421 and
    # close), so its sends may meet a reset.
    garbage = Raw(petrel.port)
    garbage.reply()
    try:
        garbage.send(bytes(range(256)) * 64 + b"\x00\r\n" + b"\xff" * 70000)
        garbage.send(b"\r\n\r\n\r\n.\r\n" + os.urandom(4096))
    except (ConnectionResetError, BrokenPipeError):
        pass
    garbage.close()

    # One connects and disconnects without a word, several times.
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", petrel.port))
        s.close()

    # The good session is unaffected.
    good.send(b"second half\r\n.\r\n")
    code, lines = good.reply()
    assert code == 250, lines
    assert good.cmd(b"NOOP")[0] == 250
    assert good.cmd(b"QUIT")[0] == 221
    good.close()
    msgs = petrel.wait_mailbox("alice", 1)
    time.sleep(0.3)
    msgs = petrel.mailbox("alice")
    assert [body_of(m) for m in msgs] == [
        b"Subject: good\r\n\r\nfirst half\r\nsecond half\r\n"]
    # Nothing half-received was left behind in the queue.
    assert "Mail queue is empty" in petrel.cli("queue", "list").stdout
    tmp = petrel.data_dir / "queue" / "tmp"
    if tmp.is_dir():
        deadline = time.time() + 5
        while time.time() < deadline and any(tmp.iterdir()):
            time.sleep(0.05)
        assert list(tmp.iterdir()) == []


def test_garbage_threads_and_good_threads(petrel):
    """Good senders and garbage senders at the same time, bounded."""
    stop = time.time() + 5
    errors = []
    sent = []
    lock = threading.Lock()

    def good(i):
        try:
            for k in range(5):
                if time.time() > stop:
                    break
                c = greet(Raw(petrel.port))
                data = b"Subject: g%d-%d\r\n\r\nok\r\n" % (i, k)
                code, lines = raw_send(c, b"g@example.net",
                                       [b"bob@example.org"], data)
                c.close()
                if code != 250:
                    errors.append(lines)
                else:
                    with lock:
                        sent.append(data)
        except Exception as e:
            errors.append(repr(e))

    def bad(i):
        for k in range(10):
            if time.time() > stop:
                break
            try:
                s = socket.create_connection(("127.0.0.1", petrel.port),
                                             timeout=5)
                s.sendall(b"EHLO x\r\nMAIL FROM:<b@example.net>\r\n"
                          b"RCPT TO:<bob@example.org>\r\nDATA\r\n" +
                          os.urandom(2000 + 100 * k))
                s.close()
            except OSError:
                pass

    threads = ([threading.Thread(target=good, args=(i,)) for i in range(5)] +
               [threading.Thread(target=bad, args=(i,)) for i in range(5)])
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert sent
    msgs = petrel.wait_mailbox("bob", len(sent))
    time.sleep(0.3)
    msgs = petrel.mailbox("bob")
    assert sorted(body_of(m) for m in msgs) == sorted(sent)
