#!/usr/bin/python3
"""petrel against Postfix (+ Dovecot) on one machine.

Called by bench/run.sh (make bench). Every load is bounded in count and time
and goes only to 127.0.0.0/8. Prints one table (figure, petrel, peer,
ratio = petrel / peer) and writes the same as JSON under bench/results/.

Order: machine ceiling (fsync loop, smtp-sink), many idle connections, then
the SMTP loads. Each figure is the median of --runs runs, alternating petrel
and peer run by run, with the mailboxes emptied and the page cache's dirty
data flushed (sync) before every run.
"""

import argparse
import json
import os
import platform
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"
PETREL_PORT = 12525
SINK_PORT = 12526
PEER_PORT = 10025
PETREL_POP3_PORT = 12110
PEER_POP3_PORT = 10110
RELAY_PORT = 12527  # both petrel instances (outbound_port is global)
RELAY_DNS_PORT = 12553
PEER_MAILDIR = "/tmp/peers/mail/peer.test/bench1"
POSTFIX_SPOOL = "/var/spool/postfix"
POSTFIX_PID = POSTFIX_SPOOL + "/pid/master.pid"
DOVECOT_PID = "/tmp/peers/dovecot-run/master.pid"
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

RUN_TIMEOUT = 180  # seconds, per smtp-source run
DELIVERY_TIMEOUT = 120  # seconds after smtp-source ends
GREETING_WAIT = 10  # seconds after the last connect() for the 220s


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- /proc

def read_stat(pid):
    """(utime+stime, cutime+cstime, ppid, comm) in ticks, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime is field 14 -> rest[11]
    ppid = int(rest[1])
    ut, st, cut, cst = (int(x) for x in rest[11:15])
    return ut + st, cut + cst, ppid, comm


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = read_stat(int(d))
        if st and st[2] == ppid:
            out.append((int(d), st[3]))
    return out


def tree_cpu(master_pid):
    """CPU ticks of a master and its direct children, counting the children
    that already exited through the master's cutime/cstime: the difference
    of two readings is the CPU spent in between (Postfix and Dovecot
    daemons are all direct children of their master)."""
    st = read_stat(master_pid)
    if st is None:
        return 0
    total = st[0] + st[1]
    for pid, _ in children(master_pid):
        c = read_stat(pid)
        if c:
            total += c[0]
    return total


def mem_kib(pid):
    """(rss, pss) in KiB from smaps_rollup."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------- servers

# Every process this script starts and must not outlive it (petrel
# instances, dnsmasq), one pid a line in --pidfile, for run.sh's cleanup.
PIDS = {}
PIDFILE = None


def track(name, pid):
    if pid is None:
        PIDS.pop(name, None)
    else:
        PIDS[name] = pid
    if PIDFILE:
        with open(PIDFILE, "w") as f:
            f.write("".join(f"{p}\n" for p in PIDS.values()))


class Petrel:
    def __init__(self, binary, pidfile, name="petrel", host="127.0.0.1",
                 port=PETREL_PORT, domain="bench.test",
                 users=("bench1", "bench2", "bench3"), extra=""):
        self.binary = binary
        self.pidfile = pidfile
        self.name = name
        self.proc = None
        self.dir = None
        self.host = host
        self.port = port
        self.domain = domain
        self.users = users
        self.extra = extra
        self.rcpt = f"{users[0]}@{domain}"

    def start(self):
        self.stop()
        self.dir = tempfile.mkdtemp(prefix="petrel-bench-")
        self.conf = os.path.join(self.dir, "petrel.conf")
        with open(self.conf, "w") as f:
            f.write(f"""hostname = {self.name}.local
data_dir = {self.dir}/data
smtp_listen = {self.host}:{self.port}
submission_listen =
smtps_listen =
pop3_listen = {self.host}:{PETREL_POP3_PORT}
pop3s_listen =
imap_listen =
imaps_listen =
admin_listen =
max_connections_per_ip = 20000
log_level = warning
{self.extra}""")
        run([self.binary, "-c", self.conf, "domain", "add", self.domain])
        for u in self.users:
            run([self.binary, "-c", self.conf, "user", "add",
                 f"{u}@{self.domain}"], input=b"secret\n")
        self.logf = open(os.path.join(self.dir, "petrel.log"), "ab")
        self.proc = subprocess.Popen(
            [self.binary, "-c", self.conf, "serve"],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=self.logf)
        track(self.name, self.proc.pid)
        wait_port(self.port, self.proc, host=self.host)
        self.maildir = self.mailbox(self.users[0])

    def mailbox(self, user):
        return os.path.join(self.dir, "data/mail", self.domain, user)

    def check_alive(self):
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise BenchError(f"petrel died (exit status {code}); log: "
                             f"{self.dir}/petrel.log:\n{self.log_tail()}")

    def log_tail(self, n=20):
        try:
            with open(os.path.join(self.dir, "petrel.log"), "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    def stop(self, keep_dir=False):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    log("petrel did not stop on SIGTERM within 10 s; SIGKILL")
                    self.proc.kill()
                    self.proc.wait()
            self.logf.close()
            self.proc = None
            track(self.name, None)
        if self.dir and not keep_dir:
            to_trash(self.dir)
            self.dir = None

    def cpu_ticks(self):
        st = read_stat(self.proc.pid)
        return st[0] if st else 0

    def mem(self):
        rss, pss = mem_kib(self.proc.pid)
        return {"rss_kib": rss, "pss_kib": pss, "processes": 1}

    def idle(self):
        pass


class Peer:
    name = "peer"

    def __init__(self, stack):
        self.stack = stack
        self.port = PEER_PORT
        self.rcpt = "bench1@peer.test"
        self.maildir = PEER_MAILDIR

    def reset(self):
        run(["bash", self.stack, "reset"], timeout=300)
        wait_port(self.port)
        self.idle(timeout=30)

    def down(self):
        subprocess.run(["bash", self.stack, "down"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)

    def pids(self):
        return read_pid(POSTFIX_PID), read_pid(DOVECOT_PID)

    def check_alive(self):
        pf, _ = self.pids()
        if pf is None or read_stat(pf) is None:
            raise BenchError("Postfix master is not running")

    def cpu_ticks(self):
        pf, dc = self.pids()
        return (tree_cpu(pf) if pf else 0) + (tree_cpu(dc) if dc else 0)

    def cpu_split(self):
        pf, dc = self.pids()
        return (tree_cpu(pf) if pf else 0), (tree_cpu(dc) if dc else 0)

    def mem(self):
        """master + smtpd processes, as the brief asks."""
        pf, _ = self.pids()
        rss, pss = mem_kib(pf)
        n = 1
        for pid, comm in children(pf):
            if comm == "smtpd":
                r, p = mem_kib(pid)
                rss += r
                pss += p
                n += 1
        return {"rss_kib": rss, "pss_kib": pss, "processes": n}

    def idle(self, timeout=60):
        """Wait until the Postfix queue is empty (looked at on disk, so no
        Postfix process is woken up to answer)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            busy = False
            for q in ("maildrop", "incoming", "active", "deferred"):
                for _root, _dirs, files in os.walk(f"{POSTFIX_SPOOL}/{q}"):
                    if files:
                        busy = True
                        break
                if busy:
                    break
            if not busy:
                return
            time.sleep(0.01)
        raise BenchError("Postfix queue not empty after "
                         f"{timeout} s (see /tmp/peers/postfix.log)")


# ---------------------------------------------------------------- helpers

def run(cmd, input=None, timeout=60):
    # Output goes through a file, not a pipe: daemons started by the
    # command (stack.sh) inherit it and would hold a pipe open forever.
    with tempfile.TemporaryFile() as out:
        r = subprocess.run(cmd, input=input, stdout=out,
                           stderr=subprocess.STDOUT, timeout=timeout)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if r.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed ({r.returncode}):\n"
                         + text)
    return text


def wait_port(port, proc=None, timeout=15, host="127.0.0.1"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"server exited with {proc.returncode} "
                             "before listening")
        try:
            with socket.create_connection((host, port), 1) as s:
                s.settimeout(5)
                greeting = s.recv(512)
                s.sendall(b"QUIT\r\n")
                if greeting.startswith(b"220"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise BenchError(f"nothing answers 220 on {host}:{port}")


def count_new(maildir):
    try:
        return sum(1 for _ in os.scandir(os.path.join(maildir, "new")))
    except FileNotFoundError:
        return 0


# Emptying a mailbox moves its folders into a trash directory removed at
# the very end: deleting thousands of files right before a run makes ext4
# (this disk has no journal) skip every "recently deleted" inode when it
# allocates new ones, a scan that took over half of petrel's CPU in the
# following run (perf: recently_deleted / find_inode_bit).
TRASH = None


def trash_dir():
    global TRASH
    if TRASH is None:
        TRASH = tempfile.mkdtemp(prefix="petrel-bench-trash-")
    return TRASH


def to_trash(path):
    os.rename(path, tempfile.mkdtemp(dir=trash_dir()) + "/x")


def empty_trash():
    global TRASH
    if TRASH is not None:
        shutil.rmtree(TRASH, ignore_errors=True)
        TRASH = None


def wipe_maildir(maildir):
    for sub in ("new", "cur", "tmp"):
        d = os.path.join(maildir, sub)
        try:
            st = os.stat(d)
            if not os.listdir(d):
                continue
        except FileNotFoundError:
            continue
        to_trash(d)
        os.mkdir(d, st.st_mode & 0o7777)
        os.chown(d, st.st_uid, st.st_gid)


def smtp_source(port, sessions, count, size, rcpt, timeout=RUN_TIMEOUT,
                host="127.0.0.1"):
    """Run smtp-source; return wall seconds. One connection per message
    (smtp-source's default): connect, EHLO, MAIL, RCPT, DATA, QUIT."""
    cmd = [SMTP_SOURCE, "-s", str(sessions), "-m", str(count),
           "-l", str(size), "-f", "from@x", "-t", rcpt,
           f"{host}:{port}"]
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"smtp-source did not finish in {timeout} s: "
                         + " ".join(cmd))
    dt = time.monotonic() - t0
    out = r.stdout.decode(errors="replace").strip()
    if r.returncode != 0 or out:
        raise BenchError(f"smtp-source failed ({r.returncode}): "
                         + " ".join(cmd) + "\n" + out[-2000:])
    return dt


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- ceiling

def fsync_loop(d, threads=1, seconds=2.0, cap=20000):
    """create + write 1 KiB + fsync + rename, like a queue file commit."""
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    os.makedirs(os.path.join(d, "new"), exist_ok=True)
    data = b"x" * 1024
    counts = [0] * threads
    end = time.monotonic() + seconds

    def worker(k):
        i = 0
        while time.monotonic() < end and i < cap:
            t = os.path.join(d, "tmp", f"{k}.{i}")
            fd = os.open(t, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            os.rename(t, os.path.join(d, "new", f"{k}.{i}"))
            i += 1
        counts[k] = i

    os.sync()
    t0 = time.monotonic()
    ths = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    dt = time.monotonic() - t0
    to_trash(d)
    return sum(counts) / dt


def sink_rate(runs, count=4000, sessions=20):
    sink = subprocess.Popen([SMTP_SINK, "-u", "postfix",
                             f"127.0.0.1:{SINK_PORT}", "1024"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(SINK_PORT, sink)
        rates = []
        for _ in range(runs):
            dt = smtp_source(SINK_PORT, sessions, count, 1024,
                             "bench1@sink.test", timeout=60)
            rates.append(count / dt)
        return rates
    finally:
        sink.terminate()
        try:
            sink.wait(5)
        except subprocess.TimeoutExpired:
            sink.kill()
            sink.wait()


# ---------------------------------------------------------------- loads

def busy_ticks():
    """Non-idle CPU ticks of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]  # minus idle and iowait


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def load_run(srv, sessions, count, size):
    srv.check_alive()
    wipe_maildir(srv.maildir)
    srv.idle()
    os.sync()
    b0, k0 = busy_ticks(), children_cpu()
    c0 = srv.cpu_ticks()
    t0 = time.monotonic()
    accept = smtp_source(srv.port, sessions, count, size, srv.rcpt,
                         host=getattr(srv, "host", "127.0.0.1"))
    end = t0 + accept + DELIVERY_TIMEOUT
    n = count_new(srv.maildir)
    while n < count and time.monotonic() < end:
        time.sleep(0.005)
        n = count_new(srv.maildir)
    e2e = time.monotonic() - t0
    if n != count:
        srv.check_alive()
        raise BenchError(f"{srv.name}: {n} of {count} messages in "
                         f"{srv.maildir}/new after {e2e:.1f} s")
    srv.idle()  # Postfix: queue file removed too, before reading the CPU
    c1 = srv.cpu_ticks()
    b1, k1 = busy_ticks(), children_cpu()
    wall = time.monotonic() - t0
    srv.check_alive()
    # CPU used by everything else on the machine meanwhile (other jobs,
    # this script), in CPUs: the bench is only as good as this is small.
    other = ((b1 - b0) - (c1 - c0)) / TICK - (k1 - k0)
    return {"accept_s": accept, "e2e_s": e2e,
            "other_cpus": max(0.0, other / wall),
            "loadavg": os.getloadavg()[0],
            "accept_rate": count / accept, "e2e_rate": count / e2e,
            "cpu_ms_per_msg": (c1 - c0) * 1000.0 / TICK / count}


# ---------------------------------------------------------------- connections

def hold_connections(port, n, wait=GREETING_WAIT, srcs=1):
    """Open n idle SMTP connections; return (sockets, greeted, seconds to
    the last greeting). Several source addresses 127.0.0.x if srcs > 1."""
    sel = selectors.DefaultSelector()
    socks = []
    greeted = 0
    pending = {}
    t0 = time.monotonic()
    last_greet = None
    no_port = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)

    def poll(timeout):
        nonlocal greeted, last_greet
        for key, _ in sel.select(timeout):
            s = key.fileobj
            try:
                data = s.recv(512)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            buf = pending.get(s, b"") + data
            if b"\n" in buf or not data:
                sel.unregister(s)
                pending.pop(s, None)
                if buf.startswith(b"220"):
                    greeted += 1
                    last_greet = time.monotonic() - t0
            else:
                pending[s] = buf

    errors = {}
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if srcs > 1:
            s.setsockopt(socket.SOL_IP, no_port, 1)
            s.bind((f"127.0.0.{2 + i % srcs}", 0))
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, 115):  # EINPROGRESS
            errors[os.strerror(err)] = errors.get(os.strerror(err), 0) + 1
            s.close()
            continue
        socks.append(s)
        sel.register(s, selectors.EVENT_READ)
        if i % 200 == 199:
            poll(0)
    deadline = time.monotonic() + wait
    while greeted < len(socks) and time.monotonic() < deadline and \
            sel.get_map():
        poll(max(0.0, deadline - time.monotonic()))
    sel.close()
    return socks, greeted, last_greet, errors


def conn_run(srv, n, restart):
    restart()
    srv.check_alive()
    time.sleep(0.5)
    base = srv.mem()
    socks, greeted, last, errors = hold_connections(srv.port, n)
    time.sleep(0.5)  # let the server settle (Postfix: process start-up)
    held = srv.mem()
    srv.check_alive()
    for s in socks:
        s.close()
    per = None
    if greeted:
        per = (held["pss_kib"] - base["pss_kib"]) / greeted
    return {"opened": len(socks), "greeted": greeted,
            "last_greeting_s": last, "connect_errors": errors,
            "mem_idle": base, "mem_held": held, "pss_kib_per_session": per}


# ---------------------------------------------------------------- POP3

POP3_BATCH = 100  # RETR commands per write
POP3_TIMEOUT = 120  # seconds, per session
POP3_SIZES = [
    # (key, label, user, count, size)
    ("pop3_1k", "1 KiB", "bench2", 5000, 1024),
    ("pop3_64k", "64 KiB", "bench3", 1000, 65536),
]


class Pop3Counter:
    """Counts multi-line POP3 answers in a byte stream: each ends with
    CRLF.CRLF, which cannot occur inside a dot-stuffed answer. The last 4
    bytes are kept so a terminator split across two reads is counted once."""

    def __init__(self):
        self.tail = b""
        self.n = 0
        self.bytes = 0

    def feed(self, data):
        self.bytes += len(data)
        buf = self.tail + data
        self.n += buf.count(b"\r\n.\r\n")
        self.tail = buf[-4:]


def pop3_line(sock, rbuf, deadline):
    while b"\r\n" not in rbuf:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        d = sock.recv(65536)
        if not d:
            raise BenchError("POP3 server closed the connection")
        rbuf += d
    i = rbuf.index(b"\r\n")
    return rbuf[:i].decode(errors="replace"), rbuf[i + 2:]


def pop3_cmd(sock, rbuf, cmd, deadline):
    sock.sendall(cmd.encode() + b"\r\n")
    line, rbuf = pop3_line(sock, rbuf, deadline)
    if not line.startswith("+OK"):
        raise BenchError(f"POP3 {cmd.split()[0]}: {line}")
    return line, rbuf


def pop3_session(port, user, expect, cpu_of, quickack=False):
    """One POP3 session: USER/PASS, STAT, RETR 1..N pipelined in batches
    of POP3_BATCH, QUIT. Nothing is deleted, so the mailbox is the same
    for every run. Returns timings, bytes and the server's CPU.
    quickack: a diagnostic; the client re-arms TCP_QUICKACK after every
    read, so a server's last small segment of a batch held back by Nagle
    waiting for an ACK is not held for the client's delayed-ACK timer."""
    deadline = time.monotonic() + POP3_TIMEOUT
    b0, c0, p0 = busy_ticks(), cpu_of(), time.process_time()
    t0 = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), 10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    try:
        rbuf = b""
        line, rbuf = pop3_line(sock, rbuf, deadline)
        if not line.startswith("+OK"):
            raise BenchError(f"POP3 greeting: {line}")
        _, rbuf = pop3_cmd(sock, rbuf, f"USER {user}", deadline)
        _, rbuf = pop3_cmd(sock, rbuf, "PASS secret", deadline)
        line, rbuf = pop3_cmd(sock, rbuf, "STAT", deadline)
        n, octets = (int(x) for x in line.split()[1:3])
        t_login = time.monotonic()
        if n != expect:
            raise BenchError(f"POP3 STAT: {n} messages, expected {expect}")
        cnt = Pop3Counter()
        cnt.feed(rbuf)
        client_cpu0 = time.process_time()
        for first in range(1, n + 1, POP3_BATCH):
            last = min(n, first + POP3_BATCH - 1)
            sock.sendall(b"".join(b"RETR %d\r\n" % i
                                  for i in range(first, last + 1)))
            while cnt.n < last:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                d = sock.recv(1 << 20)
                if quickack:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK,
                                    1)
                if not d:
                    raise BenchError("POP3 server closed during RETR")
                cnt.feed(d)
                if time.monotonic() > deadline:
                    raise BenchError("POP3 RETR timed out")
        t_retr = time.monotonic()
        client_cpu = time.process_time() - client_cpu0
        if cnt.n != n or not cnt.tail.endswith(b"\r\n.\r\n"[-4:]):
            raise BenchError(f"POP3: {cnt.n} answers for {n} RETRs")
        sock.sendall(b"QUIT\r\n")
        sock.settimeout(10)
        while sock.recv(4096):
            pass
    finally:
        sock.close()
    t_end = time.monotonic()
    c1, b1, p1 = cpu_of(), busy_ticks(), time.process_time()
    wall = t_end - t0
    retr = t_retr - t_login
    other = ((b1 - b0) - (c1 - c0)) / TICK - (p1 - p0)
    return {"messages": n, "octets_stat": octets, "bytes_read": cnt.bytes,
            "login_s": t_login - t0, "retr_s": retr, "session_s": wall,
            "msgs_per_s": n / retr, "mb_per_s": cnt.bytes / retr / 1e6,
            "server_cpu_ms_per_msg": (c1 - c0) * 1000.0 / TICK / n,
            "client_cpu_fraction_of_retr": client_cpu / retr,
            "other_cpus": max(0.0, other / wall)}


def pop3_client_ceiling(size, count=2000):
    """How fast Pop3Counter eats a stream like the server's (no socket):
    the client must be far faster than the servers it measures."""
    one = b"+OK %d octets\r\n" % size + (b"x" * 78 + b"\r\n") * (size // 80) \
        + b".\r\n"
    stream = one * count
    t0 = time.perf_counter()
    c = Pop3Counter()
    for i in range(0, len(stream), 1 << 16):
        c.feed(stream[i:i + (1 << 16)])
    dt = time.perf_counter() - t0
    assert c.n == count
    return {"msgs_per_s": count / dt, "mb_per_s": len(stream) / dt / 1e6}


def pop3_bench(petrel, peer, runs, quick):
    """Deliver the same messages to petrel (bench2/3@bench.test) and to
    Postfix -> Dovecot (bench2/3@peer.test) over SMTP, then retrieve them
    all in single POP3 sessions, alternating petrel and Dovecot."""
    out = {}
    dove_cpu = lambda: peer.cpu_split()[1]
    for key, label, user, count, size in POP3_SIZES:
        if quick:
            count //= 10
        log(f"== POP3 {label}: deliver {count} messages to each, then "
            f"{runs} retrieval runs")
        deliv = {}
        for srv, box, rcpt in (
                (petrel, petrel.mailbox(user), f"{user}@{petrel.domain}"),
                (peer, f"/tmp/peers/mail/peer.test/{user}",
                 f"{user}@peer.test")):
            t0 = time.monotonic()
            acc = smtp_source(srv.port, 20, count, size, rcpt)
            n = count_new(box)
            end = t0 + acc + DELIVERY_TIMEOUT
            while n < count and time.monotonic() < end:
                time.sleep(0.01)
                n = count_new(box)
            if n != count:
                raise BenchError(f"POP3 setup: {n} of {count} in {box}")
            srv.idle()
            deliv[srv.name] = time.monotonic() - t0
        rs = {"petrel": [], "peer": []}
        qa = {"petrel": [], "peer": []}
        for i in range(runs):
            for name, port, cpu in (("petrel", PETREL_POP3_PORT,
                                     petrel.cpu_ticks),
                                    ("peer", PEER_POP3_PORT, dove_cpu)):
                dom = petrel.domain if name == "petrel" else "peer.test"
                r = pop3_session(port, f"{user}@{dom}", count, cpu)
                rs[name].append(r)
                q = pop3_session(port, f"{user}@{dom}", count, cpu,
                                 quickack=True)
                qa[name].append(q)
                log(f"   {name:6} run {i + 1} (client quickack): "
                    f"{q['msgs_per_s']:.0f} msg/s")
                log(f"   {name:6} run {i + 1}: {r['msgs_per_s']:.0f} msg/s,"
                    f" {r['mb_per_s']:.1f} MB/s, login+STAT "
                    f"{r['login_s'] * 1000:.0f} ms, server cpu "
                    f"{r['server_cpu_ms_per_msg']:.3f} ms/msg, client cpu "
                    f"{r['client_cpu_fraction_of_retr']:.2f} of the time,"
                    f" other load {r['other_cpus']:.2f} CPUs")
        out[key] = {"label": label, "count": count, "size": size,
                    "delivery_s": deliv, "runs": rs, "runs_quickack": qa,
                    "page_cache": "warm (just delivered, not dropped)",
                    "client_ceiling": pop3_client_ceiling(size)}
    return out


# ---------------------------------------------------------------- relay

RELAY_COUNT = 2000
RELAY_SESSIONS = 20


class Dnsmasq:
    def __init__(self, port, records):
        self.dir = tempfile.mkdtemp(prefix="petrel-bench-dns-")
        conf = os.path.join(self.dir, "dnsmasq.conf")
        with open(conf, "w") as f:
            f.write("\n".join(records) + "\n")
        self.port = port
        self.proc = subprocess.Popen(
            ["/usr/sbin/dnsmasq", "--no-daemon", f"--port={port}",
             "--listen-address=127.0.0.1", "--bind-interfaces",
             "--no-resolv", "--no-hosts", f"--conf-file={conf}",
             "--log-facility=-"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        track("dnsmasq", self.proc.pid)
        # until it answers an MX query for b.bench
        q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
             b"\x01b\x05bench\x00\x00\x0f\x00\x01")
        end = time.monotonic() + 10
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while time.monotonic() < end:
                if self.proc.poll() is not None:
                    raise BenchError("dnsmasq exited")
                s.sendto(q, ("127.0.0.1", port))
                try:
                    if s.recv(512)[:2] == b"\x12\x34":
                        return
                except socket.timeout:
                    pass
        self.stop()
        raise BenchError("dnsmasq did not answer")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        track("dnsmasq", None)
        shutil.rmtree(self.dir, ignore_errors=True)


def postfix_relayhost(value):
    run(["postconf", "-e", f"relayhost = {value}"])
    run(["postfix", "reload"])
    time.sleep(1)  # reload is asynchronous


def relay_run(name, sender, b, count, sessions, cpu_of):
    """smtp-source count messages into the sender for bench1@b.bench; time
    until all are in B's Maildir."""
    box = b.maildir
    wipe_maildir(box)
    sender.idle()
    os.sync()
    b0, k0, c0, r0 = busy_ticks(), children_cpu(), cpu_of(), b.cpu_ticks()
    t0 = time.monotonic()
    acc = smtp_source(sender.port, sessions, count, 1024, "bench1@b.bench",
                      host=getattr(sender, "host", "127.0.0.1"))
    end = t0 + acc + DELIVERY_TIMEOUT
    n = count_new(box)
    while n < count and time.monotonic() < end:
        time.sleep(0.005)
        n = count_new(box)
    e2e = time.monotonic() - t0
    if n != count:
        raise BenchError(f"relay via {name}: {n} of {count} in {box}/new "
                         f"after {e2e:.1f} s")
    sender.idle()
    c1, b1, k1, r1 = cpu_of(), busy_ticks(), children_cpu(), b.cpu_ticks()
    wall = time.monotonic() - t0
    other = ((b1 - b0) - (c1 - c0) - (r1 - r0)) / TICK - (k1 - k0)
    return {"receiver_cpu_ms_per_msg": (r1 - r0) * 1000.0 / TICK / count,
            "accept_s": acc, "e2e_s": e2e, "accept_rate": count / acc,
            "e2e_rate": count / e2e,
            "cpu_ms_per_msg": (c1 - c0) * 1000.0 / TICK / count,
            "other_cpus": max(0.0, other / wall)}


def relay_bench(binary, pidfile, peer, runs, quick):
    """petrel A (127.0.0.2, a.bench) -> petrel B (127.0.0.3, b.bench) over
    SMTP, B found by MX through dnsmasq; the peer column is Postfix with
    relayhost = [127.0.0.3]:RELAY_PORT sending to the same petrel B (no
    DNS: the relayhost is an address literal)."""
    count = RELAY_COUNT // 10 if quick else RELAY_COUNT
    dns = Dnsmasq(RELAY_DNS_PORT, [
        "mx-host=b.bench,mx.b.bench,10",
        "host-record=mx.b.bench,127.0.0.3",
        "mx-host=a.bench,mx.a.bench,10",
        "host-record=mx.a.bench,127.0.0.2",
        "local=/bench/",
    ])
    common = (f"outbound_port = {RELAY_PORT}\n"
              f"dns_servers = 127.0.0.1:{RELAY_DNS_PORT}\n"
              "relay_networks = 127.0.0.0/8\n")
    a = Petrel(binary, pidfile, name="petrel-a", host="127.0.0.2",
               port=RELAY_PORT, domain="a.bench", users=("bench1",),
               extra=common)
    b = Petrel(binary, pidfile, name="petrel-b", host="127.0.0.3",
               port=RELAY_PORT, domain="b.bench", users=("bench1",),
               extra=common)
    relayhost_set = False
    try:
        b.start()
        a.start()
        postfix_relayhost(f"[127.0.0.3]:{RELAY_PORT}")
        relayhost_set = True
        log(f"== relay: {count} x 1 KiB, {RELAY_SESSIONS} sessions into the "
            f"sender, for bench1@b.bench (petrel B) x {runs} runs")
        rs = {"petrel": [], "peer": []}
        pf_cpu = lambda: peer.cpu_split()[0]
        for i in range(runs):
            for name, sender, cpu in (("petrel", a, a.cpu_ticks),
                                      ("peer", peer, pf_cpu)):
                a.check_alive()
                b.check_alive()
                r = relay_run(name, sender, b, count, RELAY_SESSIONS, cpu)
                rs[name].append(r)
                log(f"   {name:6} run {i + 1}: accept "
                    f"{r['accept_rate']:.0f}/s, in B's Maildir "
                    f"{r['e2e_rate']:.0f}/s, cpu {r['cpu_ms_per_msg']:.3f} "
                    f"ms/msg, other load {r['other_cpus']:.2f} CPUs")
        return {"count": count, "sessions": RELAY_SESSIONS, "size": 1024,
                "runs": rs,
                "cpu_note": "sender only: petrel A, or the Postfix tree; "
                            "receiver_cpu_ms_per_msg is petrel B's"}
    finally:
        if relayhost_set:
            try:
                postfix_relayhost("")
            except Exception as e:  # stack.sh down/reset rewrites main.cf
                log(f"restoring relayhost failed: {e}")
        a.stop()
        b.stop()
        dns.stop()


# ---------------------------------------------------------------- main

LOADS = [
    # (key, label, sessions, count, size)
    ("s1_1k", "1 KiB, 1 session", 1, 300, 1024),
    ("s20_1k", "1 KiB, 20 sessions", 20, 2000, 1024),
    ("s100_1k", "1 KiB, 100 sessions", 100, 2000, 1024),
    ("s20_64k", "64 KiB, 20 sessions", 20, 500, 65536),
]


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        s = f"{v:,.0f}"
    elif abs(v) >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return s + unit


def fmt_ratio(v):
    return "-" if v is None else f"{v:.3g}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--petrel", required=True)
    ap.add_argument("--stack", required=True)
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--quick", action="store_true",
                    help="one run, a tenth of the counts (a smoke test)")
    args = ap.parse_args()
    if args.quick:
        args.runs = 1
        args.conns = 1000

    def on_term(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.conns + 100:
        log(f"RLIMIT_NOFILE hard limit {hard}: connection test capped")
        args.conns = hard - 100

    for tool in (SMTP_SOURCE, SMTP_SINK):
        if not os.access(tool, os.X_OK):
            raise BenchError(f"{tool} missing (Debian package postfix)")

    global PIDFILE
    PIDFILE = args.pidfile
    petrel = Petrel(args.petrel, args.pidfile)
    peer = Peer(args.stack)
    rows = []
    result = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "runs": args.runs}
    t_start = time.monotonic()
    try:
        log("== peer stack: stack.sh reset (installs Postfix + Dovecot "
            "if missing)")
        peer.reset()
        result["machine"] = machine_info(args)

        # -------- ceiling
        log("== machine ceiling")
        fdir = os.path.join(tempfile.gettempdir(),
                            f"petrel-bench-fsync-{os.getpid()}")
        f1s, f20s = [], []
        for _ in range(args.runs):  # interleaved, as the disk is noisy
            f1s.append(fsync_loop(fdir))
            f20s.append(fsync_loop(fdir, threads=20))
        f1, f20 = med(f1s), med(f20s)
        sink = med(sink_rate(args.runs, count=400 if args.quick else 4000))
        result["ceiling"] = {"fsync_per_s_1_thread": f1,
                             "fsync_runs_1_thread": f1s,
                             "fsync_runs_20_threads": f20s,
                             "fsync_per_s_20_threads": f20,
                             "smtp_sink_msgs_per_s_20_sessions": sink,
                             "fsync_dir": tempfile.gettempdir()}

        # -------- connections
        log(f"== {args.conns} idle connections")
        conn = {"petrel": [], "peer": []}
        for i in range(args.runs):
            conn["petrel"].append(conn_run(petrel, args.conns, petrel.start))
            log(f"   petrel run {i + 1}: {conn['petrel'][-1]['greeted']} "
                "greeted")
            conn["peer"].append(conn_run(peer, args.conns, peer.reset))
            log(f"   peer   run {i + 1}: {conn['peer'][-1]['greeted']} "
                "greeted")
        result["connections"] = conn

        # -------- loads
        petrel.start()
        peer.reset()
        loads = {}
        for key, label, sessions, count, size in LOADS:
            if args.quick:
                count = max(50, count // 10)
            log(f"== load {label}: {count} messages x {args.runs} runs")
            rs = {"petrel": [], "peer": []}
            for i in range(args.runs):
                for srv in (petrel, peer):
                    r = load_run(srv, sessions, count, size)
                    rs[srv.name].append(r)
                    log(f"   {srv.name:6} run {i + 1}: accept "
                        f"{r['accept_rate']:.0f}/s, e2e {r['e2e_rate']:.0f}/s,"
                        f" cpu {r['cpu_ms_per_msg']:.3f} ms/msg,"
                        f" other load {r['other_cpus']:.2f} CPUs")
            loads[key] = {"label": label, "sessions": sessions,
                          "count": count, "size": size, "runs": rs}
        result["loads"] = loads

        # -------- POP3 (same petrel, same Postfix + Dovecot)
        result["pop3"] = pop3_bench(petrel, peer, args.runs, args.quick)
        petrel_log = petrel.log_tail(50)
        petrel.stop()

        # -------- relay
        result["relay"] = relay_bench(args.petrel, args.pidfile, peer,
                                      args.runs, args.quick)
    finally:
        petrel.stop()
        log("== peer stack: stack.sh down")
        peer.down()
        empty_trash()

    result["elapsed_s"] = time.monotonic() - t_start
    result["other_cpus_median"] = med(
        [r["other_cpus"] for L in result["loads"].values()
         for rs in L["runs"].values() for r in rs])
    result["other_cpus_median_pop3_relay"] = med(
        [r["other_cpus"] for L in list(result["pop3"].values())
         + [result["relay"]] for rs in L["runs"].values() for r in rs])
    rows = build_rows(result, args)
    result["table"] = rows
    result["petrel_log_tail"] = petrel_log
    print_table(result, rows)
    os.makedirs(args.results, exist_ok=True)
    name = time.strftime("bench-%Y%m%d-%H%M%S.json")
    path = os.path.join(args.results, name)
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    shutil.copyfile(path, os.path.join(args.results, "latest.json"))
    print(f"\nJSON: {path} (and bench/results/latest.json)")


def machine_info(args):
    def out(cmd):
        try:
            return subprocess.run(cmd, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL,
                                   timeout=10).stdout.decode().strip()
        except Exception:
            return None
    fs = out(["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "-T",
              tempfile.gettempdir()])
    return {
        "cpus": os.cpu_count(), "kernel": platform.release(),
        "tmp_fs": fs,
        "postfix_version": out(["postconf", "-h", "mail_version"]),
        "dovecot_version": out(["dovecot", "--version"]),
        "petrel_commit": out(["git", "-C", os.path.dirname(
            os.path.abspath(__file__)), "describe", "--always", "--dirty"]),
        "petrel_binary": args.petrel,
        "petrel_binary_mtime": time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.localtime(os.stat(args.petrel).st_mtime)),
        "petrel_binary_sha256": out(["sha256sum", args.petrel]).split()[0],
        "mem_total_mib": os.sysconf("SC_PHYS_PAGES") * PAGE_KIB // 1024,
    }


def build_rows(result, args):
    rows = []

    def add(figure, p, q, note=""):
        rows.append({"figure": figure, "petrel": p, "peer": q,
                     "ratio": ratio(p, q) if not isinstance(p, str) else None,
                     "note": note})

    for key, label, *_ in LOADS:
        L = result["loads"][key]
        P, Q = L["runs"]["petrel"], L["runs"]["peer"]
        add(f"accepted msg/s, {label} [{L['count']} msgs]",
            med([r["accept_rate"] for r in P]),
            med([r["accept_rate"] for r in Q]))
    for key, label, *_ in LOADS:
        L = result["loads"][key]
        P, Q = L["runs"]["petrel"], L["runs"]["peer"]
        add(f"end-to-end msg/s (in Maildir), {label}",
            med([r["e2e_rate"] for r in P]),
            med([r["e2e_rate"] for r in Q]))
    for key, label, *_ in LOADS:
        L = result["loads"][key]
        P, Q = L["runs"]["petrel"], L["runs"]["peer"]
        add(f"server CPU ms/msg (lower better), {label}",
            med([r["cpu_ms_per_msg"] for r in P]),
            med([r["cpu_ms_per_msg"] for r in Q]))
    C = result["connections"]
    n = args.conns
    add(f"idle connections greeted (of {n}, {GREETING_WAIT} s wait)",
        med([r["greeted"] for r in C["petrel"]]),
        med([r["greeted"] for r in C["peer"]]))
    add("server PSS MiB with those connections open (lower better)",
        med([r["mem_held"]["pss_kib"] / 1024 for r in C["petrel"]]),
        med([r["mem_held"]["pss_kib"] / 1024 for r in C["peer"]]))
    add("server PSS KiB per idle session (lower better)",
        med([r["pss_kib_per_session"] for r in C["petrel"]]),
        med([r["pss_kib_per_session"] for r in C["peer"]]))
    add("server RSS MiB with those connections open (lower better)",
        med([r["mem_held"]["rss_kib"] / 1024 for r in C["petrel"]]),
        med([r["mem_held"]["rss_kib"] / 1024 for r in C["peer"]]))
    for key, P3 in result["pop3"].items():
        P, Q = P3["runs"]["petrel"], P3["runs"]["peer"]
        lab = f"{P3['label']} x {P3['count']}, warm cache"
        add(f"POP3 RETR msg/s, one session, {lab}",
            med([r["msgs_per_s"] for r in P]),
            med([r["msgs_per_s"] for r in Q]))
        add(f"POP3 RETR MB/s, {lab}",
            med([r["mb_per_s"] for r in P]),
            med([r["mb_per_s"] for r in Q]))
        add(f"  same, client forcing quick ACKs (diagnostic)",
            med([r["msgs_per_s"] for r in P3["runs_quickack"]["petrel"]]),
            med([r["msgs_per_s"] for r in P3["runs_quickack"]["peer"]]))
        add(f"POP3 USER+PASS+STAT ms (lower better), {lab}",
            med([r["login_s"] * 1000 for r in P]),
            med([r["login_s"] * 1000 for r in Q]))
        add(f"POP3 server CPU ms/msg (lower better), {lab}",
            med([r["server_cpu_ms_per_msg"] for r in P]),
            med([r["server_cpu_ms_per_msg"] for r in Q]))
    R = result["relay"]
    P, Q = R["runs"]["petrel"], R["runs"]["peer"]
    lab = f"[{R['count']} x 1 KiB, {R['sessions']} sessions]"
    add(f"relay msg/s into sender -> petrel B's Maildir {lab}",
        med([r["e2e_rate"] for r in P]), med([r["e2e_rate"] for r in Q]))
    add("relay: sender accepted msg/s",
        med([r["accept_rate"] for r in P]),
        med([r["accept_rate"] for r in Q]))
    add("relay: sender CPU ms/msg (lower better)",
        med([r["cpu_ms_per_msg"] for r in P]),
        med([r["cpu_ms_per_msg"] for r in Q]))
    add("relay: receiver (petrel B) CPU ms/msg",
        med([r["receiver_cpu_ms_per_msg"] for r in P]),
        med([r["receiver_cpu_ms_per_msg"] for r in Q]))
    return rows


def print_table(result, rows):
    ce = result["ceiling"]
    m = result["machine"]
    print()
    print(f"petrel vs Postfix {m['postfix_version']} (+ Dovecot "
          f"{(m['dovecot_version'] or '?').split()[0]}), {m['cpus']} CPUs, "
          f"kernel {m['kernel']}, data on {m['tmp_fs']}")
    print(f"median of {result['runs']} runs, alternating petrel/peer; "
          "ratio = petrel / peer")
    print("Durability: both fsync before 250 - Postfix fsyncs the queue file"
          " (and virtual(8) the Maildir file);")
    print("petrel group-commits with one syncfs() per batch. petrel at "
          "log_level = warning (Postfix logs at")
    print("its default, one postlogd line per event). smtp-source opens one "
          "connection per message.")
    oc = result["other_cpus_median"]
    print(f"Other CPU use during the load runs (other jobs, kernel threads, "
          f"this script; median): "
          f"{oc:.2f} CPUs of {m['cpus']}"
          + ("  ** WARNING: a busy machine; figures are noisy **"
             if oc > 0.5 else ""))
    print()
    print("Machine ceiling:")
    print(f"  fsyncs/s on the data disk (create+write 1 KiB+fsync+rename), "
          f"1 thread:   {fmt(ce['fsync_per_s_1_thread'])}")
    print(f"  fsyncs/s on the data disk, 20 threads:                       "
          f"         {fmt(ce['fsync_per_s_20_threads'])}")
    print(f"  smtp-sink (no disk) msg/s, 1 KiB, 20 sessions:               "
          f"         {fmt(ce['smtp_sink_msgs_per_s_20_sessions'])}")
    print()
    w = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{w}}  {'petrel':>24}  {'peer':>10}  {'ratio':>6}")
    print("-" * (w + 48))
    for r in rows:
        print(f"{r['figure']:<{w}}  {fmt(r['petrel']):>24}  "
              f"{fmt(r['peer']):>10}  {fmt_ratio(r['ratio']):>6}")
    print()
    print("POP3: messages delivered over SMTP (20 sessions) to petrel "
          "(bench2/bench3@bench.test) and via Postfix")
    print("to Dovecot (bench2/bench3@peer.test), then one session each: "
          f"USER/PASS, STAT, RETR 1..N sent {POP3_BATCH} per write,")
    print("nothing deleted. Rates count the RETR phase only; the first run's "
          "login includes any index build.")
    print("Mailboxes warm in the page cache (just delivered, caches not "
          "dropped). Client (Python) parse ceiling:")
    for P3 in result["pop3"].values():
        cc = P3["client_ceiling"]
        cf = max(r["client_cpu_fraction_of_retr"]
                 for rs in P3["runs"].values() for r in rs)
        print(f"  {P3['label']}: {cc['msgs_per_s']:,.0f} msg/s, "
              f"{cc['mb_per_s']:,.0f} MB/s; client CPU during RETR at most "
              f"{cf:.0%} of wall time")
    print("The quick-ACK row: the client sets TCP_QUICKACK after every read;"
          " a server without TCP_NODELAY")
    print("otherwise stalls ~40 ms per batch (Nagle holds its last small "
          "segment until the client's delayed ACK).")
    print("Relay: smtp-source into the sender for bench1@b.bench; time until "
          "all are in petrel B's Maildir")
    print("(B on 127.0.0.3). petrel: petrel A (127.0.0.2) finds B by MX "
          "through dnsmasq. peer: Postfix with")
    print("relayhost = [127.0.0.3]:port (no DNS) sending to the same petrel "
          "B. CPU rows: sender; receiver apart.")
    oc2 = result.get("other_cpus_median_pop3_relay")
    if oc2 is not None:
        print(f"Other CPU use during POP3 and relay runs (median): "
              f"{oc2:.2f} CPUs")
    print(f"\n(total bench time {result['elapsed_s']:.0f} s)")


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
