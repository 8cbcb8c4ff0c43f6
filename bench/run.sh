#!/bin/sh
# make bench: petrel against Postfix (+ Dovecot) on this machine.
# The logic is in bench/bench.py; this script finds the peer stack, checks
# the prerequisites and makes sure everything is torn down on any exit.
#
#   sh bench/run.sh [--runs N] [--quick]
#
# Environment: PETREL_BIN (default build/petrel), PEER_STACK (default
# ../shared/peers/stack.sh beside the repository).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
STACK=${PEER_STACK:-$HERE/../../shared/peers/stack.sh}
PY=/usr/bin/python3

if [ ! -f "$STACK" ]; then
	echo "bench: peer stack not found at $STACK" >&2
	echo "bench: the repository's parent directory must contain shared/peers/stack.sh (or set PEER_STACK)" >&2
	exit 1
fi
STACK=$(cd "$(dirname "$STACK")" && pwd)/$(basename "$STACK")
if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (Postfix is started system-wide)" >&2
	exit 1
fi
[ -x "$PY" ] || { echo "bench: $PY missing" >&2; exit 1; }
PETREL_BIN=${PETREL_BIN:-$REPO/build/petrel}
[ -x "$PETREL_BIN" ] || { echo "bench: $PETREL_BIN missing (make build/petrel)" >&2; exit 1; }

cleanup() {
	# bench.py stops petrel itself; this catches a killed python.
	# (petrel instances, dnsmasq: one pid a line).
	if [ -n "${PIDFILE:-}" ] && [ -s "$PIDFILE" ]; then
		for pid in $(cat "$PIDFILE"); do
			kill "$pid" 2>/dev/null || true
		done
	fi
	[ -n "${PIDFILE:-}" ] && rm -f "$PIDFILE"
	bash "$STACK" down >/dev/null 2>&1 || true
}
PIDFILE=$(mktemp /tmp/petrel-bench-pid.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The connection test holds 10000 sockets in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

"$PY" "$HERE/bench.py" --petrel "$PETREL_BIN" --stack "$STACK" \
	--pidfile "$PIDFILE" --results "$REPO/bench/results" "$@"
