"""The shortest path through petrel: one message in, one Maildir file out."""
import smtplib

from conftest import body_of


def test_send_one_message(petrel):
    with smtplib.SMTP("127.0.0.1", petrel.port) as s:
        s.sendmail("bob@example.net", ["alice@example.org"],
                   b"Subject: hi\r\n\r\nhello\r\n")
    msgs = petrel.wait_mailbox("alice", 1)
    assert len(msgs) == 1
    assert body_of(msgs[0]) == b"Subject: hi\r\n\r\nhello\r\n"
    assert "status=sent" in petrel.log()
