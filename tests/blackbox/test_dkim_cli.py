"""`petrel dkim ...` and the DKIM records of `petrel dns-records`
(issue #11): keys in data_dir/dkim/DOMAIN/SELECTOR.pem (0600), the first
key of each algorithm signs at once, later ones wait for `activate`
(rotation), the active key cannot be deleted."""

import re
import stat

import pytest


@pytest.fixture
def p(petrel_factory):
    return petrel_factory(start=False, users=())


def test_keygen_list_rotate(p):
    out = p.cli("dkim", "keygen", "example.org").stdout
    sel = re.search(r"DKIM key (rsa-\d{8}) \(rsa-sha256, 2048 bits\) signs",
                    out).group(1)
    assert f"{sel}._domainkey.example.org.\tIN\tTXT\t" in out
    assert '"v=DKIM1; k=rsa; p=MIIB' in out
    out = p.cli("dkim", "keygen", "--ed25519", "example.org", "ed1").stdout
    assert "ed1 (ed25519-sha256, 256 bits) signs from now on" in out
    assert re.search(r'"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="', out)
    key = p.data_dir / "dkim" / "example.org" / "ed1.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")

    # A second RSA key waits; dns-records lists all three.
    out = p.cli("dkim", "keygen", "example.org", "Next").stdout
    assert "next (rsa-sha256, 2048 bits) made: publish" in out
    lines = p.cli("dkim", "list").stdout.splitlines()
    assert [l.split()[1:5] for l in lines] == [
        ["ed1", "ed25519-sha256", "256", "active"],
        ["next", "rsa-sha256", "2048", "standby"],
        [sel, "rsa-sha256", "2048", "active"]]
    recs = p.cli("dns-records", "example.org").stdout
    for s in ("ed1", "next", sel):
        assert f"{s}._domainkey.example.org.\tIN\tTXT\t" in recs
    assert "standby: not signing yet" in recs

    # A standby key may go; the active one only after a rotation.
    p.cli("dkim", "del", "example.org", "next")
    assert "next._domainkey" not in p.cli("dns-records",
                                          "example.org").stdout
    p.cli("dkim", "keygen", "example.org", "third")
    r = p.cli("dkim", "del", "example.org", sel, check=False)
    assert r.returncode == 1 and "activate another key first" in r.stderr
    p.cli("dkim", "activate", "example.org", "third")
    states = {l.split()[1]: l.split()[4]
              for l in p.cli("dkim", "list", "example.org").stdout.splitlines()}
    assert states == {"ed1": "active", sel: "standby", "third": "active"}
    p.cli("dkim", "del", "example.org", sel)
    assert not (p.data_dir / "dkim" / "example.org" / f"{sel}.pem").exists()


@pytest.mark.parametrize("args,reason", [
    (["keygen", "unknown.example"], "not a hosted domain"),
    (["keygen", "example.org", "bad/selector"], "malformed selector"),
    (["keygen", "example.org", "a..b"], "malformed selector"),
    (["activate", "example.org", "nope"], "no DKIM key with selector nope"),
    (["del", "example.org", "nope"], "no DKIM key with selector nope"),
    (["sign", "example.org"], "no active DKIM key"),
])
def test_errors(p, args, reason):
    r = p.cli("dkim", *args, check=False, input="")
    assert r.returncode == 1, r
    assert r.stderr.startswith("petrel: ") and reason in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1


def test_duplicate_selector(p):
    p.cli("dkim", "keygen", "--ed25519", "example.org", "s1")
    r = p.cli("dkim", "keygen", "example.org", "s1", check=False)
    assert r.returncode == 1 and "already exists" in r.stderr


@pytest.mark.parametrize("args", [[], ["frob"], ["keygen"],
                                  ["keygen", "--dsa", "example.org"],
                                  ["activate", "example.org"],
                                  ["list", "a", "b"], ["verify", "x"]])
def test_usage(p, args):
    r = p.cli("dkim", *args, check=False)
    assert r.returncode == 2 and "usage" in r.stderr
