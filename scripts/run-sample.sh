#!/bin/sh
# run-sample.sh - `make run`: a working petrel for the sample domain
# example.org on 127.0.0.1:2525, with user alice@example.org (password
# "secret"), in the foreground. Ctrl-C stops it cleanly.
set -eu
cd "$(dirname "$0")/.."
P="build/petrel -c sample/petrel.conf"
$P domain list | grep -qx example.org || $P domain add example.org
$P user list example.org | grep -qx alice@example.org ||
	echo secret | $P user add alice@example.org
cat <<MSG

petrel is starting on 127.0.0.1:2525 for the domain example.org.
Send it a message from another terminal, for example:

    swaks --server 127.0.0.1:2525 --from you@example.net --to alice@example.org

or with Python:

    python3 -c 'import smtplib; smtplib.SMTP("127.0.0.1", 2525).sendmail("you@example.net", ["alice@example.org"], "Subject: hi\r\n\r\nhello\r\n")'

It lands in ./petrel-data/mail/example.org/alice/new/ . Read it by POP3:

    python3 -c 'import poplib; p = poplib.POP3("127.0.0.1", 2110); p.user("alice@example.org"); p.pass_("secret"); print(p.stat())'

Submission with AUTH: 127.0.0.1:2587 (STARTTLS) or 2465 (TLS), e.g.

    swaks --server 127.0.0.1:2587 --tls --auth PLAIN --auth-user alice@example.org --auth-password secret --from alice@example.org --to alice@example.org

Admin: build/petrel -c sample/petrel.conf user|alias|domain|queue ...
Stop with Ctrl-C.

MSG
exec $P serve
