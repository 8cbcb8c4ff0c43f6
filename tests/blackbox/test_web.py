"""The admin web over real HTTPS: every API endpoint, logins, cookies,
CSRF, session expiry, bad input, the security headers, escaping of what
messages carry, and /metrics against real traffic.

Each test starts its own petrel (tests/blackbox/conftest.py) with
admin_listen on a free loopback port and an administrator made with
`petrel admin add`; the client trusts petrel's self-signed certificate.
"""

import json
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import BIN, SANITIZER_ENV, free_port
from webutil import ADMIN, ADMIN_PW, Web, make_web, parse_metrics, wait_for

SECURITY = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@pytest.fixture
def web(petrel_factory):
    return make_web(petrel_factory)


@pytest.fixture
def admin(web):
    c = web.client()
    c.login()
    return c


def send(web, sender, rcpts, msg):
    with smtplib.SMTP(web.host, web.petrel.port, timeout=10) as s:
        s.sendmail(sender, rcpts, msg)


def queue_ids(web, token_client):
    r = token_client.api("GET", "/api/queue", expect=200)
    return [m["id"] for m in r.json["messages"]]


# --- nothing without a login ------------------------------------------------

API = [
    ("POST", "/api/logout"), ("GET", "/api/session"), ("POST", "/api/password"),
    ("GET", "/api/stats"), ("GET", "/api/domains"), ("POST", "/api/domains"),
    ("DELETE", "/api/domains/example.org"),
    ("GET", "/api/domains/example.org/dns"), ("GET", "/api/users"),
    ("POST", "/api/users"), ("DELETE", "/api/users/alice@example.org"),
    ("POST", "/api/users/alice@example.org/password"),
    ("POST", "/api/users/alice@example.org/quota"), ("GET", "/api/aliases"),
    ("POST", "/api/aliases"), ("DELETE", "/api/aliases/a@example.org"),
    ("GET", "/api/queue"), ("POST", "/api/queue/flush"),
    ("GET", "/api/queue/0123ABCD"), ("DELETE", "/api/queue/0123ABCD"),
    ("POST", "/api/queue/0123ABCD/flush"), ("POST", "/api/queue/0123ABCD/bounce"),
    ("GET", "/api/badmail"), ("GET", "/api/badmail/0123ABCD"),
    ("DELETE", "/api/badmail/0123ABCD"), ("POST", "/api/badmail/0123ABCD/resend"),
    ("GET", "/api/logs/0123ABCD"),
]
PAGES = ["/dashboard", "/domains", "/users", "/aliases", "/queue", "/badmail",
         "/dns", "/logs", "/password", "/static/common.js",
         "/static/dashboard.js", "/static/queue.js", "/static/chart.min.js"]


def test_nothing_reachable_without_login(web):
    c = web.client()
    for method, path in API:
        r = c.request(method, path, {} if method != "GET" else None)
        assert r.status == 401, (method, path, r.status)
        assert r.header("Content-Type").startswith("application/json")
        assert "error" in r.json
    for path in PAGES:
        r = c.request("GET", path)
        assert r.status == 303 and r.header("Location") == "/login", path
        assert r.body == b""
    r = c.request("GET", "/")
    assert r.status == 303 and r.header("Location") == "/login"
    # The login page and what it needs are public.
    for path, kind in [("/login", "text/html"), ("/static/style.css", "text/css"),
                       ("/static/login.js", "text/javascript")]:
        r = c.request("GET", path)
        assert r.status == 200 and r.header("Content-Type").startswith(kind)
    assert b"<form id=\"login\">" in c.request("GET", "/login").body


def test_security_headers_everywhere(web, admin):
    for r in [web.request("GET", "/login"), web.request("GET", "/nope"),
              web.request("GET", "/api/domains"),
              admin.request("GET", "/dashboard"),
              admin.request("GET", "/api/domains"),
              web.request("GET", "/metrics")]:
        for k, v in SECURITY.items():
            assert r.header(k) == v, (k, r.status)
        csp = r.header("Content-Security-Policy")
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert r.header("Cache-Control") == "no-store"


def test_pages_have_no_inline_script_or_style(admin):
    for path in ["/login"] + PAGES[:9]:
        body = admin.request("GET", path).body.decode()
        assert "<script>" not in body and " on" + "click=" not in body
        assert "<style" not in body and "style=" not in body
        for src in re.findall(r'<script src="([^"]+)"', body):
            assert src.startswith("/static/"), src


# --- login, cookies, sessions ----------------------------------------------

def test_login_sets_a_strict_cookie(web):
    c = web.client()
    r = c.login()
    assert r.json["admin"] is True and r.json["address"] == ADMIN
    assert re.fullmatch(r"[0-9a-f]{64}", r.json["csrf"])
    (cookie,) = r.cookies()
    parts = [p.strip() for p in cookie.split(";")]
    name, value = parts[0].split("=", 1)
    assert name == "__Host-petrel"
    assert re.fullmatch(r"[0-9a-f]{64}", value)  # 256 bits
    attrs = {p.split("=")[0].lower() for p in parts[1:]}
    assert {"secure", "httponly", "samesite", "path", "max-age"} <= attrs
    assert "SameSite=Strict" in parts and "Path=/" in parts
    # Every login is a new session, never the old one again.
    c2 = web.client()
    c2.login()
    assert c2.cookie != c.cookie and c2.csrf != c.csrf
    s = c.api("GET", "/api/session", expect=200).json
    assert s["address"] == ADMIN and s["csrf"] == c.csrf
    assert s["expires"] > time.time()


def test_login_failure_is_delayed_counted_and_stalls_nobody(web):
    c = web.client()
    before = web.metrics()["petrel_auth_failures_total"]
    results = {}

    def bad():
        results["bad"] = c.request("POST", "/api/login",
                                   {"address": ADMIN, "password": "wrong"})
    t = threading.Thread(target=bad)
    t.start()
    time.sleep(0.2)
    # Meanwhile the server answers others at once.
    fast = web.request("GET", "/login")
    t.join(timeout=10)
    r = results["bad"]
    assert r.status == 401 and r.json["error"] == "wrong address or password"
    assert r.elapsed >= 0.9, r.elapsed
    assert fast.status == 200 and fast.elapsed < 0.5, fast.elapsed
    assert r.cookies() == []
    # An unknown address gets the same answer.
    r = c.request("POST", "/api/login",
                  {"address": "nobody@example.org", "password": "x"})
    assert r.status == 401 and r.json["error"] == "wrong address or password"
    assert web.metrics()["petrel_auth_failures_total"] == before + 2
    assert "admin web login failed for <admin@example.org>" in web.petrel.log()


def test_login_refused_after_too_many_failures(petrel_factory):
    web = make_web(petrel_factory, extra={"max_auth_failures": "2"})
    c = web.client()
    for _ in range(2):
        c.login(password="wrong", expect=401)
    r = c.login(expect=429)
    assert "too many" in r.json["error"]


def test_mail_user_only_changes_its_own_password(web):
    c = web.client()
    r = c.login("alice@example.org", "secret")
    assert r.json["admin"] is False
    assert c.request("GET", "/api/domains").status == 403
    assert c.request("GET", "/api/queue").status == 403
    r = c.request("GET", "/dashboard")
    assert r.status == 303 and r.header("Location") == "/password"
    assert c.request("GET", "/password").status == 200
    assert c.request("GET", "/").header("Location") == "/password"
    r = c.api("POST", "/api/password", {"current": "bad", "password": "n"},
              expect=400)
    assert r.json["error"] == "wrong current password"
    c.api("POST", "/api/password", {"current": "secret", "password": "fresh"},
          expect=200)
    web.client().login("alice@example.org", "secret", expect=401)
    web.client().login("alice@example.org", "fresh")
    # The directory has it too: POP3 takes the new password.
    import poplib
    p = poplib.POP3(web.host, web.petrel.pop3_port, timeout=10)
    p.user("alice@example.org")
    p.pass_("fresh")
    p.quit()


def test_admin_changes_own_password_and_other_sessions_end(web):
    a, b = web.client(), web.client()
    a.login()
    b.login()
    a.api("POST", "/api/password", {"current": ADMIN_PW, "password": "new-pw"},
          expect=200)
    assert a.request("GET", "/api/session").status == 200
    assert b.request("GET", "/api/session").status == 401
    web.client().login(password="new-pw")


def test_logout_ends_the_session(web, admin):
    old = admin.cookie
    r = admin.api("POST", "/api/logout", expect=200)
    (cookie,) = r.cookies()
    assert "Max-Age=0" in cookie
    c = web.client()
    c.cookie = old
    assert c.request("GET", "/api/session").status == 401
    assert c.request("GET", "/dashboard").header("Location") == "/login"


def test_session_idle_expiry(petrel_factory):
    web = make_web(petrel_factory, extra={"admin_session_idle": "2s"})
    c = web.client()
    c.login()
    # Whole seconds on the server: a request within 1 s keeps it alive.
    for _ in range(3):
        time.sleep(0.8)
        assert c.request("GET", "/api/session").status == 200  # refreshed
    time.sleep(3.1)
    r = c.request("GET", "/api/domains")
    assert r.status == 401
    assert c.request("GET", "/dashboard").header("Location") == "/login"


def test_session_absolute_expiry(petrel_factory):
    web = make_web(petrel_factory, extra={"admin_session_lifetime": "3s"})
    c = web.client()
    r = c.login()
    assert "Max-Age=3" in r.cookies()[0]
    t0 = time.time()
    # Used all the time, it still ends 3 s after the login (the server
    # counts whole seconds, so 2 to 4 s from here).
    while c.request("GET", "/api/session").status == 200:
        assert time.time() - t0 < 10
        time.sleep(0.3)
    assert 1.9 <= time.time() - t0 <= 5, time.time() - t0


def test_deleted_admin_loses_its_session(web, admin):
    web.petrel.cli("admin", "del", ADMIN)
    assert admin.request("GET", "/api/domains").status == 401


# --- CSRF and cross-origin --------------------------------------------------

def test_csrf_token_required_on_every_change(web, admin):
    for headers in [{}, {"X-CSRF-Token": "0" * 64},
                    {"X-CSRF-Token": admin.csrf[:-1]}]:
        r = admin.request("POST", "/api/domains", {"name": "csrf.test"},
                          headers=headers, csrf=False)
        assert r.status == 403, headers
        assert "CSRF" in r.json["error"]
        r = admin.request("DELETE", "/api/users/alice@example.org",
                          headers=headers, csrf=False)
        assert r.status == 403
        r = admin.request("POST", "/api/logout", headers=headers, csrf=False)
        assert r.status == 403
    # Another session's token is not this one's.
    other = web.client()
    other.login()
    r = admin.request("POST", "/api/domains", {"name": "csrf.test"},
                      headers={"X-CSRF-Token": other.csrf}, csrf=False)
    assert r.status == 403
    names = [d["name"] for d in admin.api("GET", "/api/domains").json["domains"]]
    assert names == ["example.org"]
    assert admin.request("GET", "/api/session").status == 200
    admin.api("POST", "/api/domains", {"name": "csrf.test"}, expect=201)


def test_cross_origin_change_refused(admin):
    r = admin.request("POST", "/api/domains", {"name": "x.test"},
                      headers={"Origin": "https://evil.example"})
    assert r.status == 403 and "cross-origin" in r.json["error"]
    host = f"127.0.0.1:{admin.web.port}"
    r = admin.request("POST", "/api/domains", {"name": "x.test"},
                      headers={"Origin": f"https://{host}"})
    assert r.status == 201


def test_form_post_cannot_change_anything(admin):
    """What a cross-site form could send: no JSON type, no token."""
    r = admin.request("POST", "/api/domains", raw=b"name=evil.test",
                      content_type="application/x-www-form-urlencoded",
                      csrf=False)
    assert r.status == 403
    r = admin.request("POST", "/api/domains", raw=b"name=evil.test",
                      content_type="application/x-www-form-urlencoded")
    assert r.status == 415
    names = [d["name"] for d in admin.api("GET", "/api/domains").json["domains"]]
    assert "evil.test" not in names


# --- API tokens -------------------------------------------------------------

def test_api_token(web):
    tok = web.token("ci")
    assert re.fullmatch(r"[0-9a-f]{64}", tok)
    assert "ci\tcreated " in web.petrel.cli("admin", "token", "list").stdout
    h = web.bearer(tok)
    r = web.request("GET", "/api/domains", headers=h)
    assert r.status == 200
    # No CSRF token needed: a bearer token is not sent by browsers.
    r = web.request("POST", "/api/domains",
                    json.dumps({"name": "tok.test"}).encode(),
                    {**h, "Content-Type": "application/json"})
    assert r.status == 201
    for bad in ["Bearer " + "0" * 64, "Bearer " + tok[:-1], "Basic abc",
                "Bearer", "Bearer a b"]:
        r = web.request("GET", "/api/domains", headers={"Authorization": bad})
        assert r.status == 401, bad
    # Only the hash is kept.
    db = (web.petrel.data_dir / "directory.db").read_bytes()
    assert tok.encode() not in db
    web.petrel.cli("admin", "token", "del", "ci")
    assert web.request("GET", "/api/domains", headers=h).status == 401


# --- domains, users, aliases -----------------------------------------------

def test_domains_api_and_cli_agree(web, admin):
    admin.api("POST", "/api/domains", {"name": "Shop.Test"}, expect=201)
    r = admin.api("POST", "/api/domains", {"name": "shop.test"}, expect=409)
    assert "already exists" in r.json["error"]
    r = admin.api("POST", "/api/domains", {"name": "bad domain"}, expect=400)
    assert "malformed" in r.json["error"]
    got = admin.api("GET", "/api/domains", expect=200).json
    assert got == {"domains": [{"name": "example.org"}, {"name": "shop.test"}]}
    assert web.petrel.cli("domain", "list").stdout == "example.org\nshop.test\n"
    r = admin.api("DELETE", "/api/domains/example.org", expect=409)
    assert "still has users" in r.json["error"]
    admin.api("DELETE", "/api/domains/nope.test", expect=404)
    admin.api("DELETE", "/api/domains/shop.test", expect=200)
    assert web.petrel.cli("domain", "list").stdout == "example.org\n"
    r = admin.api("GET", "/api/domains/example.org/dns", expect=200).json
    assert r["domain"] == "example.org"
    recs = {(x["name"], x["type"]): x["value"] for x in r["records"]}
    assert recs[("example.org.", "MX")] == "10 mx.example.org."
    assert recs[("example.org.", "TXT")] == "v=spf1 mx -all"
    assert recs[("_dmarc.example.org.", "TXT")].startswith("v=DMARC1;")
    assert all(x["note"] for x in r["records"])
    cli = web.petrel.cli("dns-records", "example.org").stdout
    for (name, typ), value in recs.items():
        assert name in cli and value.split(";")[0] in cli
    admin.api("GET", "/api/domains/bad%20domain/dns", expect=400)


def test_users_api(web, admin):
    admin.api("POST", "/api/users",
              {"address": "Bob@Example.org", "password": "pw", "quota": "500m"},
              expect=201)
    admin.api("POST", "/api/users", {"address": "bob@example.org",
                                     "password": "pw"}, expect=409)
    admin.api("POST", "/api/users", {"address": "x@nope.test",
                                     "password": "pw"}, expect=404)
    admin.api("POST", "/api/users", {"address": "not-an-address",
                                     "password": "pw"}, expect=400)
    users = admin.api("GET", "/api/users", expect=200).json["users"]
    assert users == [
        {"address": "alice@example.org", "quota": 0, "quota_text": "none"},
        {"address": "Bob@example.org", "quota": 500 << 20,
         "quota_text": "500m"}]
    assert web.petrel.cli("user", "list").stdout.splitlines() == [
        "alice@example.org", "Bob@example.org"]
    assert web.petrel.cli("user", "quota", "bob@example.org").stdout == "500m\n"
    r = admin.api("POST", "/api/users/bob@example.org/quota", {"quota": 1500},
                  expect=200)
    assert r.json["quota_text"] == "1500"
    admin.api("POST", "/api/users/bob@example.org/quota", {"quota": None},
              expect=200)
    assert web.petrel.cli("user", "quota", "bob@example.org").stdout == "none\n"
    admin.api("POST", "/api/users/bob@example.org/quota", {"quota": "lots"},
              expect=400)
    admin.api("POST", "/api/users/nobody@example.org/quota", {"quota": "1g"},
              expect=404)
    admin.api("POST", "/api/users/bob%40example.org/password",
              {"password": "new"}, expect=200)
    web.client().login("bob@example.org", "new")
    admin.api("GET", "/api/users?domain=nope.test", expect=404)
    assert admin.api("GET", "/api/users?domain=example.org").json["users"]
    admin.api("DELETE", "/api/users/bob@example.org", expect=200)
    admin.api("DELETE", "/api/users/bob@example.org", expect=404)
    assert web.petrel.cli("user", "list").stdout == "alice@example.org\n"


def test_aliases_api(web, admin):
    admin.api("POST", "/api/aliases",
              {"address": "sales@example.org",
               "targets": ["alice@example.org", "Boss@Remote.NET"]},
              expect=201)
    admin.api("POST", "/api/aliases", {"address": "@example.org",
                                       "targets": ["alice@example.org"]},
              expect=201)
    admin.api("POST", "/api/aliases", {"address": "x@example.org",
                                       "targets": ["junk"]}, expect=400)
    admin.api("POST", "/api/aliases", {"address": "x@example.org",
                                       "targets": []}, expect=400)
    got = admin.api("GET", "/api/aliases", expect=200).json["aliases"]
    assert got == [
        {"address": "@example.org", "targets": ["alice@example.org"]},
        {"address": "sales@example.org",
         "targets": ["alice@example.org", "Boss@remote.net"]}]
    assert web.petrel.cli("alias", "list").stdout.splitlines() == [
        "@example.org: alice@example.org",
        "sales@example.org: alice@example.org, Boss@remote.net"]
    admin.api("DELETE", "/api/aliases/@example.org", expect=200)
    admin.api("DELETE", "/api/aliases/nobody@example.org", expect=404)
    # The alias works: mail to sales lands in alice's mailbox.
    send(web, "x@example.net", ["sales@example.org"],
         "Subject: via alias\r\n\r\nhi\r\n")
    msgs = web.petrel.wait_mailbox("alice", 1)
    assert b"via alias" in msgs[0]


# --- the queue --------------------------------------------------------------

MSG = ("From: alice@example.org\r\nSubject: <script>alert('x')</script>\r\n"
       "\r\n<b>body</b>\r\n")


def deferred(web, admin, n=1):
    """Wait until n messages are queued with a reason."""
    def ready():
        msgs = admin.api("GET", "/api/queue").json["messages"]
        if len(msgs) >= n and all(r["last_error"] for m in msgs
                                  for r in m["recipients"]):
            return msgs
        return None
    msgs = wait_for(ready, 10)
    assert msgs, admin.api("GET", "/api/queue").json
    return msgs


def test_queue_api_list_show_retry_bounce_delete(web, admin):
    # example.net's MX (conftest's dnsmasq) refuses connections: deferred.
    send(web, "alice@example.org", ["bob@example.net"], MSG)
    send(web, "alice@example.org", ["carol@example.net"], MSG)
    msgs = deferred(web, admin, 2)
    first, second = msgs[0], msgs[1]
    r = first["recipients"][0]
    assert r["state"] == "pending" and r["attempts"] == 1
    assert "refused" in r["last_error"] or "Connection" in r["last_error"]
    assert first["sender"] == "alice@example.org" and first["size"] > 0
    cli = web.petrel.cli("queue", "list").stdout
    for m in msgs:
        assert m["id"] in cli
        assert f"<{m['recipients'][0]['address']}>" in cli
    # Show: the envelope and the message, as sent, as data.
    s = admin.api("GET", f"/api/queue/{first['id']}", expect=200).json
    assert s["id"] == first["id"] and s["truncated"] is False
    assert "Subject: <script>alert('x')</script>" in s["message"]
    # Retry: another attempt now.
    r = admin.api("POST", f"/api/queue/{first['id']}/flush", expect=200).json
    assert r == {"flushed": 1}

    def retried():
        m = admin.api("GET", f"/api/queue/{first['id']}").json
        return m["recipients"][0]["attempts"] >= 2
    assert wait_for(retried, 10)
    admin.api("POST", "/api/queue/flush", expect=200)
    # Bounce: a DSN goes to alice.
    r = admin.api("POST", f"/api/queue/{first['id']}/bounce", expect=200).json
    assert r == {"bounced": 1}
    dsn = web.petrel.wait_mailbox("alice", 1)
    assert b"multipart/report" in dsn[0]
    assert wait_for(lambda: first["id"] not in queue_ids(web, admin), 10)
    # Delete.
    r = admin.api("DELETE", f"/api/queue/{second['id']}", expect=200).json
    assert r == {"deleted": 1}
    assert second["id"] not in web.petrel.cli("queue", "list").stdout
    admin.api("DELETE", f"/api/queue/{second['id']}", expect=404)
    admin.api("GET", f"/api/queue/{second['id']}", expect=404)
    admin.api("GET", "/api/queue/not-an-id", expect=400)
    admin.api("POST", "/api/queue/zzz/bounce", expect=400)
    # Its story, from the server's recent log lines.
    lines = admin.api("GET", f"/api/logs/{first['id']}", expect=200).json
    text = "\n".join(lines["lines"])
    assert f"{first['id']}: from=<alice@example.org>" in text
    assert "status=deferred" in text
    assert f"POST /api/queue/{first['id']}/bounce by <{ADMIN}>: 200" in text
    assert "sender non-delivery notification" in text
    assert f"{first['id']}: removed" in text
    assert all(first["id"] in line for line in lines["lines"])
    admin.api("GET", "/api/logs/bad-id", expect=400)


def test_badmail_api(web, admin):
    # A bounce of a bounce goes to badmail: the null sender, to a domain
    # that does not exist (NXDOMAIN at once).
    with smtplib.SMTP(web.host, web.petrel.port, timeout=10) as s:
        s.sendmail("<>", ["ghost@nx.example.net"],
                   "Subject: <img src=x onerror=alert(1)>\r\n\r\nx\r\n")
    def listed():
        return admin.api("GET", "/api/badmail").json["badmail"]
    items = wait_for(listed, 15)
    assert items, web.petrel.log()[-2000:]
    b = items[0]
    assert b["requeue"] is True and "ghost@nx.example.net" in b["reason"]
    cli = web.petrel.cli("badmail", "list").stdout
    assert b["id"] in cli
    s = admin.api("GET", f"/api/badmail/{b['id']}", expect=200).json
    assert "<img src=x onerror=alert(1)>" in s["message"]
    assert s["reason"] == b["reason"]
    # Resend: back in the queue under its id; it fails again, and comes
    # back to badmail.
    admin.api("POST", f"/api/badmail/{b['id']}/resend", expect=200)
    log = web.petrel.log
    assert wait_for(lambda: log().count(f"{b['id']}: moved to badmail") >= 2,
                    15), log()[-2000:]
    assert wait_for(listed, 5)
    admin.api("DELETE", f"/api/badmail/{b['id']}", expect=200)
    assert listed() == []
    assert not (web.petrel.data_dir / "badmail" / b["id"]).exists()
    admin.api("DELETE", f"/api/badmail/{b['id']}", expect=404)
    admin.api("POST", f"/api/badmail/{b['id']}/resend", expect=404)
    admin.api("GET", "/api/badmail/..", expect=400)


def test_badmail_from_pickup_resends_into_pickup(web, admin):
    (web.petrel.data_dir / "pickup" / "broken").write_bytes(b"no header here\n")
    items = wait_for(lambda: admin.api("GET", "/api/badmail").json["badmail"],
                     10)
    assert items and items[0]["requeue"] is False
    bid = items[0]["id"]
    (web.petrel.data_dir / "badmail" / bid).write_bytes(
        b"From: alice@example.org\nTo: alice@example.org\nSubject: fixed\n\nok\n")
    admin.api("POST", f"/api/badmail/{bid}/resend", expect=200)
    msgs = web.petrel.wait_mailbox("alice", 1)
    assert msgs and b"Subject: fixed" in msgs[0]


# --- bad input ---------------------------------------------------------------

def test_bad_input_is_refused_and_changes_nothing(web, admin):
    def domains():
        return admin.api("GET", "/api/domains").json["domains"]
    before = domains()
    cases = [
        # (method, path, raw body, content type, status, error part)
        ("POST", "/api/domains", b"{", "application/json", 400, "bad JSON"),
        ("POST", "/api/domains", b"[1]", "application/json", 400, "object"),
        ("POST", "/api/domains", b'{"name": "a.test", "x": 1}',
         "application/json", 400, "unknown field 'x'"),
        ("POST", "/api/domains", b'{"name": 5}', "application/json", 400,
         "must be"),
        ("POST", "/api/domains", b'{"name": ""}', "application/json", 400,
         "must be"),
        ("POST", "/api/domains", b'{}', "application/json", 400,
         "missing field 'name'"),
        ("POST", "/api/domains", b'{"name":"a.test","name":"b.test"}',
         "application/json", 400, "duplicate"),
        ("POST", "/api/domains", b'{"name": "a\\u0000b"}', "application/json",
         400, ""),
        ("POST", "/api/domains", b'{"name": "a.test"}', "text/plain", 415,
         "application/json"),
        ("POST", "/api/domains", b'{"name": "a.test"}', None, 415,
         "application/json"),
        ("POST", "/api/domains", b'{"name": "' + b"a" * 70000 + b'"}',
         "application/json", 413, "larger"),
        ("POST", "/api/domains", b'{"name": "\xff\xfe"}', "application/json",
         400, "bad JSON"),
        ("POST", "/api/queue/flush", b'{"all": true}', "application/json",
         400, "unknown field"),
        ("PUT", "/api/domains", b'{"name": "a.test"}', "application/json", 405,
         "not allowed"),
        ("PATCH", "/api/domains/example.org", b"", None, 405, "not allowed"),
        ("GET", "/api/nothing", None, None, 404, "no such"),
        ("GET", "/api/domains/a/b/c/d", None, None, 404, "no such"),
        ("GET", "/api/%zz", None, None, 400, "malformed"),
        ("GET", "/api/domains/..", None, None, 400, "malformed"),
        ("GET", "/api//domains", None, None, 400, "malformed"),
        ("GET", "/api/users?domain=%zz", None, None, 400, "malformed"),
    ]
    for method, path, raw, ctype, status, part in cases:
        r = admin.request(method, path, raw=raw, content_type=ctype)
        assert r.status == status, (method, path, raw[:40] if raw else raw,
                                    r.status, r.body[:200])
        assert r.header("Content-Type").startswith("application/json")
        assert part in r.json["error"], (path, r.json)
    r = admin.request("PUT", "/api/domains", {"name": "x.test"})
    assert r.header("Allow") == "GET, HEAD, POST"
    assert domains() == before
    # The server is fine afterwards, and so is the session.
    admin.api("POST", "/api/domains", {"name": "ok.test"}, expect=201)


def test_transport_limits(web, admin):
    # Past 1 MiB libevent refuses the body itself (413) before reading it.
    c = web.connection()
    c.putrequest("POST", "/api/domains")
    c.putheader("Content-Type", "application/json")
    c.putheader("Content-Length", str(2 << 20))
    c.putheader("Cookie", admin.cookie)
    c.putheader("X-CSRF-Token", admin.csrf)
    c.endheaders()
    r = c.getresponse()
    assert r.status == 413
    c.close()
    # Headers past 16 KiB.
    r = admin.request("GET", "/api/domains", headers={"X-Big": "y" * 20000})
    assert r.status >= 400
    assert admin.api("GET", "/api/domains").status == 200


def test_page_methods_and_unknown_paths(web, admin):
    r = admin.request("POST", "/dashboard", raw=b"")
    assert r.status == 405 and r.header("Allow") == "GET, HEAD"
    assert admin.request("GET", "/nothing").status == 404
    assert admin.request("GET", "/static/../login").status == 400
    r = admin.request("HEAD", "/dashboard")
    assert r.status == 200 and r.body == b""
    r = admin.request("GET", "/login")
    assert r.status == 303 and r.header("Location") == "/dashboard"


# --- plain HTTP, only on loopback -------------------------------------------

def test_plain_http_only_on_loopback(petrel_factory, tmp_path):
    p = petrel_factory("nonloop", start=False,
                       extra={"admin_listen": f"0.0.0.0:{free_port()}",
                              "admin_plain_http": "yes"})
    r = subprocess.run([BIN, "-c", str(p.conf), "serve"], capture_output=True,
                       text=True, timeout=30, env={**os.environ,
                                                   **SANITIZER_ENV})
    assert r.returncode == 1
    assert "admin_plain_http = yes needs every admin_listen address on " \
           "loopback" in r.stderr
    web = make_web(petrel_factory, name="plain", plain=True)
    c = web.client()
    r = c.login()
    (cookie,) = r.cookies()
    assert cookie.startswith("petrel=") and "Secure" not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert c.api("GET", "/api/domains").status == 200
    # No TLS on a plain port and no plain text on a TLS one.
    https = Web(web.petrel, web.port)
    with pytest.raises(ssl.SSLError):
        https.request("GET", "/login")


def test_tls_port_speaks_no_plain_http(web):
    plain = Web(web.petrel, web.port, plain=True)
    with pytest.raises(Exception):
        r = plain.request("GET", "/login")
        assert r.status != 200


def test_certificate_reload_reaches_admin_web(petrel_factory, tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"

    def make(cn):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(key), "-out", str(cert), "-days", "2",
                        "-subj", f"/CN={cn}"], check=True,
                       capture_output=True)
    make("first.test")
    web = make_web(petrel_factory, extra={"tls_cert": str(cert),
                                          "tls_key": str(key)})

    def subject():
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection((web.host, web.port), timeout=10) as s:
            with ctx.wrap_socket(s) as t:
                der = t.getpeercert(binary_form=True)
        out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout",
                              "-subject"], input=der, capture_output=True,
                             check=True).stdout
        return out.decode()
    assert "first.test" in subject()
    make("second.test")
    web.petrel.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "second.test" in subject(), 10)


# --- /metrics ----------------------------------------------------------------

def test_metrics_follow_real_traffic(web, admin):
    m0 = web.metrics()
    assert m0["petrel_messages_received_total"] == 0
    smtp0 = m0.get('petrel_sessions_total{protocol="smtp"}', 0)
    for i in range(3):
        send(web, "x@example.net", ["alice@example.org"],
             f"Subject: m{i}\r\n\r\nhi\r\n")
    send(web, "alice@example.org", ["bob@example.net"], "Subject: far\r\n\r\nx\r\n")
    deferred(web, admin, 1)

    def counted():
        m = web.metrics()
        return m if m['petrel_deliveries_total{status="deferred"}'] >= 1 else None
    m = wait_for(counted, 10)
    assert m["petrel_messages_received_total"] == 4
    assert m['petrel_deliveries_total{status="sent"}'] == 3
    assert m['petrel_deliveries_total{status="deferred"}'] >= 1
    assert m['petrel_deliveries_total{status="bounced"}'] == 0
    assert m['petrel_sessions_total{protocol="smtp"}'] == smtp0 + 4
    assert m['petrel_delivery_latency_seconds_count'] == 3
    assert m['petrel_delivery_latency_seconds_bucket{le="1"}'] >= 2
    assert m['petrel_delivery_latency_seconds_bucket{le="+Inf"}'] == 3
    assert m["petrel_queue_messages"] == 1
    assert m["petrel_queue_recipients"] == 1
    assert m["petrel_queue_oldest_age_seconds"] >= 0
    assert m["petrel_commit_batch_size_count"] >= 4
    assert m["petrel_commit_batch_size_sum"] >= 4
    assert m['petrel_commit_batch_size_bucket{le="+Inf"}'] == \
        m["petrel_commit_batch_size_count"]
    assert m["petrel_admin_sessions"] == 1
    # TLS handshakes: every HTTPS request above was one.
    ok = m['petrel_tls_handshakes_total{side="server",result="ok"}']
    web.metrics()
    m2 = web.metrics()
    assert m2['petrel_tls_handshakes_total{side="server",result="ok"}'] == ok + 2
    # A client speaking plain text to the TLS port: a failed handshake.
    with socket.create_connection((web.host, web.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        s.recv(100)
    m3 = web.metrics()
    assert m3['petrel_tls_handshakes_total{side="server",result="failed"}'] \
        == m2['petrel_tls_handshakes_total{side="server",result="failed"}'] + 1
    # A failed login is an auth failure.
    web.client().login(password="wrong", expect=401)
    m4 = web.metrics()
    assert m4["petrel_auth_failures_total"] == m3["petrel_auth_failures_total"] + 1
    # The dashboard's numbers are the same ones.
    s = admin.api("GET", "/api/stats?minutes=60", expect=200).json
    assert sum(x["received"] for x in s["minutes"]) == 4
    assert sum(x["delivered"] for x in s["minutes"]) == 3
    assert s["queue"]["messages"] == 1 and s["sessions"] >= 0
    assert len(s["minutes"]) <= 60


def test_metrics_text_format(web):
    r = web.request("GET", "/metrics")
    assert r.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    text = r.body.decode()
    names = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    assert ("petrel_messages_received_total", "counter") in names
    assert ("petrel_delivery_latency_seconds", "histogram") in names
    assert ("petrel_queue_messages", "gauge") in names
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r'[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? '
                                r'-?[0-9.e+]+', line), line


def test_metrics_access(petrel_factory):
    web = make_web(petrel_factory, extra={"metrics_networks": "10.0.0.0/8"})
    r = web.request("GET", "/metrics")
    assert r.status == 403
    tok = web.token("prom")
    assert web.request("GET", "/metrics", headers=web.bearer(tok)).status == 200
    r = web.request("GET", "/metrics",
                    headers={"Authorization": "Bearer nope"})
    assert r.status == 401
    c = web.client()
    c.login()
    assert c.request("GET", "/metrics").status == 200
    m = web.metrics(web.bearer(tok))
    assert "petrel_messages_received_total" in m
    assert web.request("POST", "/metrics", b"", headers=web.bearer(tok)).status \
        == 405


def test_stats_history(admin):
    s = admin.api("GET", "/api/stats", expect=200).json
    assert s["minutes"] and s["minutes"][-1]["t"] <= s["now"]
    assert set(s["minutes"][-1]) == {"t", "received", "delivered", "deferred",
                                    "bounced", "queue", "sessions"}
    s = admin.api("GET", "/api/stats?minutes=99999", expect=200).json
    assert len(s["minutes"]) <= 1440


def test_web_off_by_default_in_tests_and_cli_usage(petrel):
    # admin_listen empty: nothing listens; the admin commands still work.
    r = petrel.cli("admin", "add", "root@example.org", input="pw\n")
    assert r.stdout == ""
    assert petrel.cli("admin", "list").stdout == "root@example.org\n"
    r = petrel.cli("admin", "add", "root@example.org", input="pw\n",
                   check=False)
    assert r.returncode == 1 and "already exists" in r.stderr
    r = petrel.cli("admin", "add", "junk", input="pw\n", check=False)
    assert r.returncode == 1 and "malformed" in r.stderr
    r = petrel.cli("admin", "add", "x@y.org", input="", check=False)
    assert r.returncode == 1 and "no password" in r.stderr
    r = petrel.cli("admin", "frob", check=False)
    assert r.returncode == 2 and "usage" in r.stderr
    petrel.cli("admin", "passwd", "root@example.org", input="pw2\n")
    r = petrel.cli("admin", "del", "nobody@example.org", check=False)
    assert r.returncode == 1 and "unknown admin" in r.stderr
    petrel.cli("admin", "del", "root@example.org")
    assert petrel.cli("admin", "list").stdout == ""
    r = petrel.cli("admin", "token", "add", "bad name", check=False)
    assert r.returncode == 1 and "malformed token name" in r.stderr
    r = petrel.cli("admin", "token", "del", "none", check=False)
    assert r.returncode == 1 and "unknown token" in r.stderr
