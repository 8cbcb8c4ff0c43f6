"""SIGHUP reloads the configuration (interface.md: serve): keys that can
change live do at once; the others are named in the log and wait for the
next start; a broken file changes nothing."""
import signal
import time

from conftest import Raw, greet


def wait_log(p, text, timeout=5):
    deadline = time.time() + timeout
    while text not in p.log() and time.time() < deadline:
        time.sleep(0.05)
    return text in p.log()


def rcpt_codes(p, n):
    c = greet(Raw(p.port))
    assert c.cmd(b"MAIL FROM:<a@example.net>")[0] == 250
    codes = [c.cmd(b"RCPT TO:<alice@example.org>")[0] for _ in range(n)]
    c.cmd(b"QUIT")
    c.close()
    return codes


def test_sighup_reloads_live_keys(petrel_factory):
    p = petrel_factory(extra={"max_recipients": "2"})
    assert rcpt_codes(p, 3) == [250, 250, 452]
    p.settings["max_recipients"] = "3"
    p.settings["smtp_listen"] = f"127.0.0.1:{p.port}, 127.0.0.1:1"
    p.write_conf()
    p.proc.send_signal(signal.SIGHUP)
    assert wait_log(p, "SIGHUP: configuration reloaded")
    assert rcpt_codes(p, 4) == [250, 250, 250, 452]
    assert "smtp_listen changed: it takes effect at the next start" \
        in p.log()


def test_sighup_with_a_broken_file_keeps_running_config(petrel_factory):
    p = petrel_factory(extra={"max_recipients": "2"})
    p.conf.write_text(p.conf.read_text() + "no_such_key = 1\n")
    p.proc.send_signal(signal.SIGHUP)
    assert wait_log(p, "keeping the running configuration")
    assert "no_such_key" in p.log()
    assert rcpt_codes(p, 3) == [250, 250, 452]
    assert p.proc.poll() is None
