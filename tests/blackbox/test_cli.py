"""Black-box tests of the directory admin commands: domain, user, alias.

Each test runs the real binary (PETREL_BIN) against a fresh data_dir in
tmp_path and checks exit status, stdout, the single "petrel: reason"
line on stderr, and what ends up in data_dir/directory.db.
"""

import os
import sqlite3
import stat
import subprocess
import warnings

import pytest

PETREL = os.environ.get("PETREL_BIN", "/work/main/build/petrel")

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # removed in Python 3.13; used only when present
except ImportError:
    crypt = None


class Petrel:
    """Runs `petrel -o data_dir=... ARGS` for one test's data_dir."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.db = os.path.join(data_dir, "directory.db")

    def argv(self, *args):
        return [PETREL, "-o", "data_dir=" + self.data_dir, *args]

    def run(self, *args, stdin=""):
        return subprocess.run(self.argv(*args), input=stdin,
                              capture_output=True, text=True, timeout=60)

    def ok(self, *args, stdin=""):
        r = self.run(*args, stdin=stdin)
        assert r.returncode == 0, r.stderr
        assert r.stderr == ""
        return r.stdout

    def fails(self, *args, stdin="", status=1, reason=None):
        r = self.run(*args, stdin=stdin)
        assert r.returncode == status, (r.returncode, r.stderr)
        # Exactly one line, "petrel: reason".
        assert r.stderr.startswith("petrel: "), r.stderr
        assert r.stderr.endswith("\n") and r.stderr.count("\n") == 1, \
            r.stderr
        if reason is not None:
            assert reason in r.stderr, r.stderr
        assert r.stdout == ""
        return r.stderr

    def lines(self, *args):
        return self.ok(*args).splitlines()

    def query(self, sql, *params):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()


@pytest.fixture
def petrel(tmp_path):
    return Petrel(str(tmp_path / "data"))


@pytest.fixture
def hosted(petrel):
    """example.org hosted, with alice."""
    petrel.ok("domain", "add", "example.org")
    petrel.ok("user", "add", "alice@example.org", stdin="alice-pw\n")
    return petrel


def check_password(petrel, address, password):
    local, domain = address.rsplit("@", 1)
    rows = petrel.query("SELECT hash FROM users WHERE domain = ?"
                        " AND localpart = ? COLLATE NOCASE", domain, local)
    assert len(rows) == 1
    if crypt is None:
        pytest.skip("no crypt module to verify the hash")
    return crypt.crypt(password, rows[0][0]) == rows[0][0]


# --- domain ---------------------------------------------------------------

def test_domain_add_list_del(petrel):
    assert petrel.lines("domain", "list") == []
    petrel.ok("domain", "add", "Example.ORG")
    petrel.ok("domain", "add", "b.example")
    petrel.ok("domain", "add", "a.example")
    assert petrel.lines("domain", "list") == [
        "a.example", "b.example", "example.org"]
    petrel.ok("domain", "del", "B.EXAMPLE")
    assert petrel.lines("domain", "list") == ["a.example", "example.org"]


def test_data_dir_and_db_modes(petrel):
    petrel.ok("domain", "add", "example.org")
    assert stat.S_IMODE(os.stat(petrel.data_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(petrel.db).st_mode) == 0o600
    assert petrel.query("PRAGMA journal_mode") == [("wal",)]
    assert petrel.query("PRAGMA user_version")[0][0] >= 1


def test_domain_duplicate(petrel):
    petrel.ok("domain", "add", "example.org")
    petrel.fails("domain", "add", "EXAMPLE.org", reason="already exists")
    assert petrel.lines("domain", "list") == ["example.org"]


@pytest.mark.parametrize("bad", ["", "no_underscore.org", "a..b",
                                 "-lead.org", "x@y.org", "[1.2.3.4]",
                                 "a b.org"])
def test_domain_malformed(petrel, bad):
    petrel.fails("domain", "add", bad, reason="malformed")
    assert petrel.lines("domain", "list") == []


def test_domain_del_unknown(petrel):
    petrel.fails("domain", "del", "nope.org", reason="unknown domain")


def test_domain_del_refused_with_users(hosted):
    hosted.fails("domain", "del", "example.org", reason="still has")
    hosted.ok("user", "del", "alice@example.org")
    hosted.ok("domain", "del", "example.org")
    assert hosted.lines("domain", "list") == []


def test_domain_del_refused_with_aliases(petrel):
    petrel.ok("domain", "add", "example.org")
    petrel.ok("alias", "add", "@example.org", "x@remote.net")
    petrel.fails("domain", "del", "example.org", reason="still has")
    petrel.ok("alias", "del", "@example.org")
    petrel.ok("domain", "del", "example.org")


@pytest.mark.parametrize("args", [[], ["add"], ["add", "a", "b"],
                                  ["del"], ["list", "x"], ["frob", "x"]])
def test_domain_usage(petrel, args):
    petrel.fails("domain", *args, status=2, reason="usage")


# --- user -----------------------------------------------------------------

def test_user_add_list(hosted):
    hosted.ok("domain", "add", "other.org")
    hosted.ok("user", "add", "Bob@Example.ORG", stdin="pw\n")
    hosted.ok("user", "add", "carol@other.org", stdin="pw")  # no newline
    assert hosted.lines("user", "list") == [
        "alice@example.org", "Bob@example.org", "carol@other.org"]
    assert hosted.lines("user", "list", "EXAMPLE.org") == [
        "alice@example.org", "Bob@example.org"]
    assert hosted.lines("user", "list", "other.org") == ["carol@other.org"]


def test_user_list_unknown_domain(hosted):
    hosted.fails("user", "list", "nope.org", reason="unknown domain")


def test_password_hashed_never_plaintext(hosted):
    secret = "Pl41ntext-Should-Never-Appear"
    hosted.ok("user", "add", "bob@example.org", stdin=secret + "\n")
    rows = hosted.query("SELECT hash FROM users")
    assert len(rows) == 2
    for (h,) in rows:
        assert h.startswith("$y$"), h
        assert secret not in h
    for name in os.listdir(hosted.data_dir):
        with open(os.path.join(hosted.data_dir, name), "rb") as f:
            assert secret.encode() not in f.read()
    assert check_password(hosted, "bob@example.org", secret)
    # The line end is not part of the password.
    assert not check_password(hosted, "bob@example.org", secret + "\n")


def test_password_crlf_stripped(hosted):
    hosted.ok("user", "add", "bob@example.org", stdin="pw\r\n")
    assert check_password(hosted, "bob@example.org", "pw")


def test_password_only_first_line(hosted):
    hosted.ok("user", "add", "bob@example.org", stdin="first\nsecond\n")
    assert check_password(hosted, "bob@example.org", "first")


@pytest.mark.parametrize("stdin", ["", "\n", "\r\n"])
def test_user_add_needs_password(hosted, stdin):
    hosted.fails("user", "add", "bob@example.org", stdin=stdin,
                 reason="password")
    assert hosted.lines("user", "list") == ["alice@example.org"]


def test_user_add_duplicate_any_case(hosted):
    hosted.fails("user", "add", "ALICE@example.org", stdin="x\n",
                 reason="already exists")
    hosted.fails("user", "add", "alice@EXAMPLE.ORG", stdin="x\n",
                 reason="already exists")
    assert hosted.lines("user", "list") == ["alice@example.org"]
    assert check_password(hosted, "alice@example.org", "alice-pw")


def test_user_add_unknown_domain(hosted):
    hosted.fails("user", "add", "bob@example.net", stdin="x\n",
                 reason="unknown domain example.net")


@pytest.mark.parametrize("bad", ["bob", "bob@", "@example.org",
                                 "bob@@example.org", "a b@example.org",
                                 "bob@[127.0.0.1]", ".bob@example.org",
                                 '"../x"@example.org', "a/b@example.org",
                                 "x" * 65 + "@example.org"])
def test_user_add_malformed(hosted, bad):
    hosted.fails("user", "add", bad, stdin="x\n", reason="malformed")
    assert hosted.lines("user", "list") == ["alice@example.org"]


def test_user_passwd(hosted):
    hosted.ok("user", "passwd", "ALICE@example.org", stdin="new-pw\n")
    assert check_password(hosted, "alice@example.org", "new-pw")
    assert not check_password(hosted, "alice@example.org", "alice-pw")


def test_user_passwd_errors(hosted):
    hosted.fails("user", "passwd", "bob@example.org", stdin="x\n",
                 reason="unknown user")
    hosted.fails("user", "passwd", "bob@nope.org", stdin="x\n",
                 reason="unknown domain")
    hosted.fails("user", "passwd", "alice@example.org", stdin="",
                 reason="password")
    hosted.fails("user", "passwd", "alice@example.org", stdin="\n",
                 reason="empty password")
    hosted.fails("user", "passwd", "garbage", stdin="x\n",
                 reason="malformed")
    assert check_password(hosted, "alice@example.org", "alice-pw")


def test_user_quota(hosted):
    assert hosted.lines("user", "quota", "alice@example.org") == ["none"]
    hosted.ok("user", "quota", "ALICE@example.org", "500m")
    assert hosted.lines("user", "quota", "alice@example.org") == ["500m"]
    assert hosted.query("SELECT quota FROM users") == [(500 << 20,)]
    hosted.ok("user", "quota", "alice@example.org", "1500")
    assert hosted.lines("user", "quota", "alice@example.org") == ["1500"]
    hosted.ok("user", "quota", "alice@example.org", "none")
    assert hosted.lines("user", "quota", "alice@example.org") == ["none"]
    hosted.fails("user", "quota", "bob@example.org", "1m",
                 reason="unknown user")
    hosted.fails("user", "quota", "bob@example.org", reason="unknown user")
    hosted.fails("user", "quota", "alice@example.org", "lots", status=2,
                 reason="bad size")
    hosted.fails("user", "quota", status=2, reason="usage")


def test_directory_v1_migrates(petrel):
    """A directory made by a version-1 petrel gains the quota column."""
    import sqlite3
    path = os.path.join(petrel.data_dir, "directory.db")
    os.makedirs(petrel.data_dir, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE domains (name TEXT PRIMARY KEY NOT NULL,
                              created INTEGER NOT NULL);
        CREATE TABLE users (id INTEGER PRIMARY KEY,
            domain TEXT NOT NULL REFERENCES domains(name),
            localpart TEXT NOT NULL COLLATE NOCASE, hash TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1, created INTEGER NOT NULL,
            UNIQUE (domain, localpart));
        CREATE TABLE aliases (id INTEGER PRIMARY KEY,
            domain TEXT NOT NULL REFERENCES domains(name),
            localpart TEXT NOT NULL COLLATE NOCASE,
            created INTEGER NOT NULL, UNIQUE (domain, localpart));
        CREATE TABLE alias_targets (alias_id INTEGER NOT NULL
            REFERENCES aliases(id) ON DELETE CASCADE,
            pos INTEGER NOT NULL, target TEXT NOT NULL,
            PRIMARY KEY (alias_id, pos));
        INSERT INTO domains VALUES ('old.org', 0);
        INSERT INTO users (domain, localpart, hash, created)
            VALUES ('old.org', 'u', 'x', 0);
        PRAGMA user_version = 1;
    """)
    db.close()
    assert petrel.lines("user", "list") == ["u@old.org"]
    assert petrel.lines("user", "quota", "u@old.org") == ["none"]
    petrel.ok("user", "quota", "u@old.org", "2g")
    assert petrel.lines("user", "quota", "u@old.org") == ["2g"]
    assert petrel.query("PRAGMA user_version") == [(3,)]


def test_user_del_other_case(petrel):
    petrel.ok("domain", "add", "example.org")
    petrel.ok("user", "add", "USER@example.org", stdin="pw\n")
    petrel.ok("user", "del", "user@Example.Org")
    assert petrel.lines("user", "list") == []
    petrel.fails("user", "del", "user@example.org", reason="unknown user")


def test_user_del_errors(hosted):
    hosted.fails("user", "del", "bob@example.org", reason="unknown user")
    hosted.fails("user", "del", "bob@nope.org", reason="unknown domain")
    hosted.fails("user", "del", "bob", reason="malformed")


@pytest.mark.parametrize("args", [[], ["add"], ["add", "a@b", "c"],
                                  ["passwd"], ["del"], ["del", "a", "b"],
                                  ["list", "a", "b"], ["frob"]])
def test_user_usage(petrel, args):
    petrel.fails("user", *args, stdin="pw\n", status=2, reason="usage")


def test_password_not_in_argv_is_the_only_way(hosted):
    # A password given as an extra argument is a usage error, not accepted.
    hosted.fails("user", "add", "bob@example.org", "secret", status=2)


# --- alias ----------------------------------------------------------------

def test_alias_add_list_del(hosted):
    hosted.ok("domain", "add", "other.org")
    hosted.ok("alias", "add", "Sales@example.org", "alice@example.org",
              "Boss@Remote.NET")
    hosted.ok("alias", "add", "@example.org", "alice@example.org")
    hosted.ok("alias", "add", "info@other.org", "alice@example.org")
    assert hosted.lines("alias", "list") == [
        "@example.org: alice@example.org",
        "Sales@example.org: alice@example.org, Boss@remote.net",
        "info@other.org: alice@example.org"]
    assert hosted.lines("alias", "list", "other.org") == [
        "info@other.org: alice@example.org"]
    hosted.ok("alias", "del", "SALES@example.org")
    hosted.ok("alias", "del", "@EXAMPLE.org")
    assert hosted.lines("alias", "list", "example.org") == []


def test_alias_add_replaces(hosted):
    hosted.ok("alias", "add", "sales@example.org", "a@remote.net")
    hosted.ok("alias", "add", "SALES@example.org", "b@remote.net",
              "c@remote.net")
    # One alias (the address matched without case), spelt as last given.
    assert hosted.lines("alias", "list") == [
        "SALES@example.org: b@remote.net, c@remote.net"]


def test_alias_beside_user(hosted):
    # Keep a copy and forward: the alias may name its own user.
    hosted.ok("alias", "add", "alice@example.org", "alice@example.org",
              "copy@remote.net")
    assert hosted.lines("user", "list") == ["alice@example.org"]


def test_alias_errors(hosted):
    hosted.fails("alias", "add", "x@nope.org", "alice@example.org",
                 reason="unknown domain")
    hosted.fails("alias", "add", "@nope.org", "alice@example.org",
                 reason="unknown domain")
    hosted.fails("alias", "add", "junk", "alice@example.org",
                 reason="malformed")
    hosted.fails("alias", "add", "@", "alice@example.org",
                 reason="malformed")
    hosted.fails("alias", "add", "x@example.org", "alice@example.org",
                 "not-an-address", reason="malformed address 'not-an")
    hosted.fails("alias", "del", "x@example.org", reason="unknown alias")
    hosted.fails("alias", "del", "@example.org", reason="unknown alias")
    hosted.fails("alias", "del", "x@nope.org", reason="unknown domain")
    hosted.fails("alias", "list", "nope.org", reason="unknown domain")
    # Nothing half-written.
    assert hosted.lines("alias", "list") == []
    assert hosted.query("SELECT count(*) FROM alias_targets") == [(0,)]


@pytest.mark.parametrize("args", [[], ["add"], ["add", "a@example.org"],
                                  ["del"], ["del", "a", "b"],
                                  ["list", "a", "b"], ["frob"]])
def test_alias_usage(hosted, args):
    hosted.fails("alias", *args, status=2, reason="usage")


# --- concurrency ----------------------------------------------------------

def test_concurrent_user_adds(petrel):
    petrel.ok("domain", "add", "example.org")
    n = 12
    procs = [subprocess.Popen(petrel.argv("user", "add",
                                          "u%02d@example.org" % i),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for i in range(n)]
    # Readers at the same time.
    readers = [subprocess.Popen(petrel.argv("user", "list"),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    for p in procs:
        p.stdin.write("pw\n")
        p.stdin.close()
    for p in procs + readers:
        # Output is a few lines at most: no pipe can fill up.
        assert p.wait(timeout=60) == 0
        err = p.stderr.read()
        p.stdout.close()
        p.stderr.close()
        assert err == ""
    assert petrel.lines("user", "list") == [
        "u%02d@example.org" % i for i in range(n)]


def test_concurrent_first_use(petrel):
    # Several processes racing to create the database and schema.
    procs = [subprocess.Popen(petrel.argv("domain", "add", "d%d.example" % i),
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for i in range(8)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert len(petrel.lines("domain", "list")) == 8


def test_write_while_reader_holds_snapshot(hosted):
    # A server-like reader inside a read transaction does not block the
    # CLI (WAL), and sees the change in its next transaction.
    con = sqlite3.connect(hosted.db, isolation_level=None)
    try:
        con.execute("BEGIN")
        before = con.execute("SELECT count(*) FROM users").fetchone()[0]
        hosted.ok("user", "add", "bob@example.org", stdin="pw\n")
        assert con.execute("SELECT count(*) FROM users").fetchone()[0] \
            == before
        con.execute("COMMIT")
        assert con.execute("SELECT count(*) FROM users").fetchone()[0] \
            == before + 1
    finally:
        con.close()


def test_writer_waits_for_other_writer(hosted):
    # A write lock held briefly elsewhere is waited for (busy_timeout),
    # not reported as an error.
    con = sqlite3.connect(hosted.db, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        p = subprocess.Popen(hosted.argv("domain", "add", "late.org"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            p.wait(timeout=0.5)
            pytest.fail("writer did not wait for the lock")
        except subprocess.TimeoutExpired:
            pass
        con.execute("COMMIT")
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
    finally:
        con.close()
    assert "late.org" in hosted.lines("domain", "list")


# --- dns-records -----------------------------------------------------------

def test_dns_records(petrel):
    out = subprocess.run(
        petrel.argv("-o", "hostname=mx.example.org", "dns-records",
                    "Example.ORG"),
        capture_output=True, text=True, check=True).stdout
    records = [l.split("\t") for l in out.splitlines()
               if not l.startswith(";")]
    assert ["example.org.", "IN", "MX", "10 mx.example.org."] in records
    assert ["example.org.", "IN", "TXT", '"v=spf1 mx -all"'] in records
    dmarc = [r for r in records if r[0] == "_dmarc.example.org."]
    assert len(dmarc) == 1 and dmarc[0][3].startswith('"v=DMARC1; p=')
    # Every record is explained by a comment line above it.
    lines = out.splitlines()
    for i, l in enumerate(lines):
        if not l.startswith(";"):
            assert i > 0 and lines[i - 1].startswith("; ")


@pytest.mark.parametrize("args", [[], ["a.org", "b.org"]])
def test_dns_records_usage(petrel, args):
    petrel.fails("dns-records", *args, status=2, reason="usage")


def test_dns_records_bad_domain(petrel):
    petrel.fails("dns-records", "bad domain", reason="malformed domain")
