#!/bin/sh
# run-sample.sh - `make run`: a working petrel for the sample domain
# example.org on 127.0.0.1:2525, with user alice@example.org (password
# "secret"), in the foreground. Ctrl-C stops it cleanly. The admin web is
# on https://127.0.0.1:8443/ for admin@example.org, whose password is made
# afresh (random) on every run and printed.
set -eu
cd "$(dirname "$0")/.."
P="build/petrel -c sample/petrel.conf"
$P domain list | grep -qx example.org || $P domain add example.org
$P user list example.org | grep -qx alice@example.org ||
	echo secret | $P user add alice@example.org
ADMIN=admin@example.org
ADMIN_PW=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
if $P admin list | grep -qx "$ADMIN"; then
	echo "$ADMIN_PW" | $P admin passwd "$ADMIN"
else
	echo "$ADMIN_PW" | $P admin add "$ADMIN"
fi
cat <<MSG

petrel is starting on 127.0.0.1:2525 for the domain example.org.
Send it a message from another terminal, for example:

    swaks --server 127.0.0.1:2525 --from you@example.net --to alice@example.org

or with Python:

    python3 -c 'import smtplib; smtplib.SMTP("127.0.0.1", 2525).sendmail("you@example.net", ["alice@example.org"], "Subject: hi\r\n\r\nhello\r\n")'

It lands in ./petrel-data/mail/example.org/alice/new/ . Read it by POP3:

    python3 -c 'import poplib; p = poplib.POP3("127.0.0.1", 2110); p.user("alice@example.org"); p.pass_("secret"); print(p.stat())'

Read it by IMAP on 127.0.0.1:2143 (STARTTLS) or IMAPS on 127.0.0.1:2993,
user alice@example.org, password secret; the certificate is self-signed
(./petrel-data/tls-cert.pem), so tell the client to trust it:

    python3 -c 'import imaplib,ssl; c=ssl.create_default_context(cafile="petrel-data/tls-cert.pem"); c.check_hostname=False; m=imaplib.IMAP4_SSL("127.0.0.1",2993,ssl_context=c); m.login("alice@example.org","secret"); print(m.select("INBOX"))'

    mutt -f 'imaps://alice%40example.org@127.0.0.1:2993/INBOX'   (accept the certificate once)

Thunderbird: IMAP, server 127.0.0.1, port 2993, SSL/TLS, normal password.

Submission with AUTH: 127.0.0.1:2587 (STARTTLS) or 2465 (TLS), e.g.

    swaks --server 127.0.0.1:2587 --tls --auth PLAIN --auth-user alice@example.org --auth-password secret --from alice@example.org --to alice@example.org

Admin web: https://127.0.0.1:8443/ (a self-signed certificate: let the
browser accept it), log in as $ADMIN with the password

    $ADMIN_PW

(made afresh on every \`make run\`). Metrics: https://127.0.0.1:8443/metrics

Admin: build/petrel -c sample/petrel.conf user|alias|domain|queue|badmail|admin ...
Stop with Ctrl-C.

MSG
exec $P serve
