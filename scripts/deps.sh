#!/bin/sh
# deps.sh - install the Debian packages petrel's build and tests need,
# only those that are missing, so a fresh Debian 12 machine needs nothing else.
set -eu
PKGS="build-essential pkg-config libevent-dev libssl-dev libunbound-dev
libsqlite3-dev libcrypt-dev libcmocka-dev python3 python3-pytest swaks
dnsmasq-base clang libclang-rt-14-dev openssl fetchmail python3-aiosmtpd
libidn2-dev zlib1g-dev libjansson-dev libpsl-dev publicsuffix libjs-chart.js
chromium chromium-driver python3-selenium mutt tmux isync offlineimap3
getmail6 python3-dkim opendkim-tools"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >/dev/null
