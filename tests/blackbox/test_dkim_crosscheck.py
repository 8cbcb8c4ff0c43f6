"""DKIM against independent implementations from Debian, both ways
(issue #11): signatures petrel makes verify with python3-dkim (dkimpy,
the library behind dkimverify) and with OpenDKIM's opendkim-testmsg;
signatures dkimpy's dkimsign makes verify with `petrel dkim verify`.
RSA-SHA256 and Ed25519-SHA256 (RFC 8463) both. Keys come from
`petrel dkim keygen`, their records from `petrel dns-records`, served by
a real dnsmasq.

opendkim-testmsg resolves through /etc/resolv.conf (port 53 only), so it
runs in a network and mount namespace of its own (unshare), with its own
loopback, a dnsmasq on port 53 there and a resolv.conf bound over the
real one for that process only: nothing on the host changes."""

import base64
import os
import shutil
import subprocess

import dkim
import pytest

from conftest import BIN, SANITIZER_ENV, published_records, txt_lookup_for

MSG = (b"From: Alice <alice@example.org>\r\n"
       b"To: Bob <bob@example.net>\r\n"
       b"Subject: cross-check\r\n"
       b"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
       b"Message-ID: <x1@example.org>\r\n"
       b"\r\n"
       b"Hello  Bob,\r\n"
       b"\r\n"
       b"a line with trailing space \r\n"
       b"\r\n")

DOMAINS = ("example.org", "rsa.example.org", "ed.example.org")


_KEYS = {}  # the key folder made once, copied into later tests' data_dir


@pytest.fixture
def keyed(petrel_factory, dns_factory, tmp_path_factory):
    """A petrel (not serving) with RSA and Ed25519 keys for example.org,
    an RSA-only and an Ed25519-only domain, and a DNS publishing them.
    RSA key generation is slow under ASan, so the keys are made once."""
    p = petrel_factory(start=False, users=())
    for d in DOMAINS[1:]:
        p.cli("domain", "add", d)
    if "dir" in _KEYS:
        shutil.copytree(_KEYS["dir"], p.data_dir / "dkim")
    else:
        p.cli("dkim", "keygen", "example.org", "r1")
        p.cli("dkim", "keygen", "--ed25519", "example.org", "e1")
        p.cli("dkim", "keygen", "rsa.example.org", "r1")
        p.cli("dkim", "keygen", "--ed25519", "ed.example.org", "e1")
        _KEYS["dir"] = tmp_path_factory.mktemp("keys") / "dkim"
        shutil.copytree(p.data_dir / "dkim", _KEYS["dir"])
    records = ["local=/example.org/"]
    for d in DOMAINS:
        records += published_records(p, d)
    d = dns_factory(records)
    p.settings["dns_servers"] = d.server
    p.write_conf()
    return p, d


def petrel_sign(p, domain, msg=MSG):
    r = subprocess.run([BIN, "-c", str(p.conf), "dkim", "sign", domain],
                       input=msg, capture_output=True, timeout=30,
                       env={**os.environ, **SANITIZER_ENV})
    assert r.returncode == 0, r.stderr
    return r.stdout


def petrel_verify(p, msg):
    r = subprocess.run([BIN, "-c", str(p.conf), "dkim", "verify"],
                       input=msg, capture_output=True, timeout=60,
                       env={**os.environ, **SANITIZER_ENV})
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, r.stdout.decode()


def test_petrel_signatures_verify_with_dkimpy(keyed):
    p, d = keyed
    signed = petrel_sign(p, "example.org")
    assert signed.endswith(MSG)
    assert signed.count(b"DKIM-Signature:") == 2
    dnsfunc = txt_lookup_for(d.server)
    algs = []
    for idx in (0, 1):
        sigs = dkim.DKIM(signed)
        assert sigs.verify(idx=idx, dnsfunc=dnsfunc), idx
        algs.append(sigs.signature_fields[b"a"])
    assert sorted(algs) == [b"ed25519-sha256", b"rsa-sha256"]
    # A changed body, and a second From added on top (oversigned).
    tampered = signed.replace(b"Hello  Bob", b"Hello Eve")
    forged = b"From: Eve <eve@example.org>\r\n" + signed
    for bad in (tampered, forged):
        for idx in (0, 1):
            assert not dkimpy_verifies(bad, idx, dnsfunc), idx


def dkimpy_verifies(msg, idx, dnsfunc):
    """dkimpy's verdict; it raises instead of answering False for some
    failures (a body hash mismatch)."""
    try:
        return dkim.DKIM(msg).verify(idx=idx, dnsfunc=dnsfunc)
    except dkim.DKIMException:
        return False


def run_opendkim(dnsconf, msg_path, workdir):
    """opendkim-testmsg in a namespace whose port-53 DNS is dnsmasq."""
    script = workdir / "ns.sh"
    resolv = workdir / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n")
    pid = workdir / "dnsmasq.pid"
    script.write_text(
        "set -e\n"
        "ip link set lo up\n"
        f"mount --bind {resolv} /etc/resolv.conf\n"
        "/usr/sbin/dnsmasq --port=53 --listen-address=127.0.0.1 "
        "--bind-interfaces --no-resolv --no-hosts "
        f"--conf-file={dnsconf} --pid-file={pid}\n"
        "set +e\n"
        f"opendkim-testmsg < {msg_path}\n"
        "rc=$?\n"
        f"kill $(cat {pid})\n"
        "exit $rc\n")
    return subprocess.run(["unshare", "--net", "--mount", "sh", str(script)],
                          capture_output=True, text=True, timeout=60)


def unshare_works():
    if not shutil.which("unshare") or not shutil.which("opendkim-testmsg"):
        return False
    r = subprocess.run(["unshare", "--net", "--mount", "true"],
                       capture_output=True, timeout=10)
    return r.returncode == 0


@pytest.mark.skipif(not unshare_works(),
                    reason="needs unshare (root) and opendkim-tools")
@pytest.mark.parametrize("domain", ["rsa.example.org", "ed.example.org"])
def test_petrel_signatures_verify_with_opendkim(keyed, tmp_path, domain):
    p, d = keyed
    signed = petrel_sign(p, domain)
    # opendkim-testmsg reads a Unix text file (LF line ends).
    good = tmp_path / "good.txt"
    good.write_bytes(signed.replace(b"\r\n", b"\n"))
    r = run_opendkim(d.conf, good, tmp_path)
    assert r.returncode == 0, r.stderr
    bad = tmp_path / "bad.txt"
    bad.write_bytes(signed.replace(b"\r\n", b"\n").replace(b"Bob,", b"Eve,"))
    r = run_opendkim(d.conf, bad, tmp_path)
    assert r.returncode != 0 and "Bad signature" in r.stderr, r.stderr


def ed25519_seed(pem_path):
    """The raw 32-octet seed of a PKCS#8 Ed25519 key, base64 (dkimpy's
    key format for Ed25519)."""
    der = subprocess.run(["openssl", "pkey", "-in", str(pem_path),
                          "-outform", "DER"], capture_output=True,
                         check=True).stdout
    return base64.b64encode(der[-32:])


@pytest.mark.parametrize("signalg,canon", [
    ("rsa-sha256", "relaxed"), ("rsa-sha256", "simple"),
    ("ed25519-sha256", "relaxed"), ("ed25519-sha256", "simple")])
def test_dkimsign_signatures_verify_with_petrel(keyed, tmp_path, signalg,
                                                canon):
    p, d = keyed
    keydir = p.data_dir / "dkim" / "example.org"
    if signalg == "rsa-sha256":
        selector, keyfile = "r1", keydir / "r1.pem"
    else:
        selector, keyfile = "e1", tmp_path / "e1.seed"
        keyfile.write_bytes(ed25519_seed(keydir / "e1.pem"))
    r = subprocess.run(["dkimsign", selector, "example.org", str(keyfile),
                        "--hcanon", canon, "--bcanon", canon,
                        "--signalg", signalg],
                       input=MSG, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    signed = r.stdout
    assert b"a=" + signalg.encode() in signed
    rc, out = petrel_verify(p, signed)
    assert rc == 0 and out.startswith("pass d=example.org s=" + selector), out
    rc, out = petrel_verify(p, signed.replace(b"Hello  Bob", b"Hello Eve"))
    assert rc == 1 and out.startswith("fail"), out
    assert "body hash did not verify" in out


@pytest.mark.skipif(not shutil.which("opendkim-testmsg"),
                    reason="needs opendkim-tools")
def test_opendkim_signature_is_rsa_sha1_and_refused(keyed, tmp_path):
    """opendkim-testmsg signs with rsa-sha1 (it has no option for
    another hash); RFC 8301 §3.1 forbids accepting that, and petrel says
    why instead of passing it."""
    p, d = keyed
    keyfile = p.data_dir / "dkim" / "rsa.example.org" / "r1.pem"
    r = subprocess.run(["opendkim-testmsg", "-C", "-d", "rsa.example.org",
                        "-s", "r1", "-k", str(keyfile)],
                       input=MSG.replace(b"example.org>", b"rsa.example.org>")
                       .replace(b"\r\n", b"\n"),
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"a=rsa-sha1" in r.stdout
    rc, out = petrel_verify(p, r.stdout.replace(b"\r\n", b"\n")
                            .replace(b"\n", b"\r\n"))
    assert rc == 1 and out.startswith("permerror"), out
    assert "rsa-sha1" in out
