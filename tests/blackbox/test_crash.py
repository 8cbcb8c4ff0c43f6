"""A 250 is a promise: kill -9 petrel at random moments while several
clients send, restart it, and check that every message that got a 250 is
there afterwards, byte for byte, in its mailbox (local recipients) or in
the queue (remote ones), and that nothing is delivered twice."""

import random
import re
import smtplib
import threading
import time

from conftest import body_of

ROUNDS = 6
CLIENTS = 4
DEADLINE = 60  # seconds for the whole load phase, whatever happens


def message(marker: str) -> bytes:
    lines = [f"Subject: crash {marker}", f"X-Marker: {marker}", ""]
    lines += [f"line {i} of {marker} " + "x" * (i % 50) for i in range(60)]
    lines += [".leading dot", ""]
    return "\r\n".join(lines).encode()


def client(petrel, n, acked, stop, remote):
    seq = 0
    while not stop.is_set():
        seq += 1
        marker = f"c{n}-{seq}"
        try:
            with smtplib.SMTP("127.0.0.1", petrel.port, timeout=5) as s:
                s.ehlo("crash.test")
                s.mail("sender@example.net")
                rcpts = ["alice@example.org"]
                if remote:
                    rcpts.append("someone@example.net")
                for r in rcpts:
                    code, _ = s.rcpt(r)
                    assert code == 250
                code, resp = s.data(message(marker))
                if code == 250:
                    qid = re.search(rb"queued as ([0-9A-F]+)", resp)
                    acked.append((marker, qid.group(1).decode(), remote))
        except (OSError, smtplib.SMTPException):
            time.sleep(0.02)  # the server is down: try again


def test_kill9_loses_no_acknowledged_mail(petrel_factory):
    petrel = petrel_factory()
    acked = []
    stop = threading.Event()
    threads = [threading.Thread(target=client,
                                args=(petrel, n, acked, stop, n == 0))
               for n in range(CLIENTS)]
    for t in threads:
        t.start()
    rng = random.Random(5321)
    start = time.time()
    try:
        for _ in range(ROUNDS):
            if time.time() - start > DEADLINE:
                break
            time.sleep(rng.uniform(0.2, 0.8))
            petrel.kill()
            time.sleep(rng.uniform(0.0, 0.2))
            petrel.start()
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert petrel.stop() == 0
    assert len(acked) > 50, "the load was too light to mean anything"

    # Local copies: every acknowledged marker exactly once, byte-exact.
    box = petrel.mailbox("alice")
    seen = {}
    for m in box:
        marker = re.search(rb"X-Marker: (\S+)", m).group(1).decode()
        seen[marker] = seen.get(marker, 0) + 1
        assert body_of(m) == message(marker), marker
    for marker, _, _ in acked:
        assert seen.get(marker, 0) >= 1, f"acknowledged {marker} lost"
    assert all(c == 1 for c in seen.values()), "duplicate delivery"

    # Remote copies: still in the queue after every crash.
    listing = petrel.cli("queue", "list").stdout
    for marker, qid, remote in acked:
        if remote:
            assert qid in listing, f"acknowledged {qid} gone from queue"
