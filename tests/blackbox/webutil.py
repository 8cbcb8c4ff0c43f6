"""A small HTTPS client for the admin web tests: real TLS (http.client and
ssl, trusting petrel's own self-signed certificate), one cookie jar per
Client, and the CSRF token a login hands out."""

import http.client
import json
import ssl
import time
from dataclasses import dataclass, field

from conftest import free_port, wait_port

ADMIN = "admin@example.org"
ADMIN_PW = "admin-secret"


@dataclass
class Resp:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    elapsed: float = 0.0
    _json: object = field(default=None, repr=False)

    @property
    def json(self):
        if self._json is None:
            self._json = json.loads(self.body)
        return self._json

    def header(self, name):
        return self.headers.get(name)

    def cookies(self):
        return self.headers.get_all("Set-Cookie") or []


class Client:
    """One browser's worth of state: a cookie and its CSRF token."""

    def __init__(self, web):
        self.web = web
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None, headers=None, raw=None,
                csrf=True, content_type="application/json"):
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type is not None:
            h.setdefault("Content-Type", content_type)
        if self.cookie is not None:
            h.setdefault("Cookie", self.cookie)
        if csrf and self.csrf is not None and method not in ("GET", "HEAD"):
            h.setdefault("X-CSRF-Token", self.csrf)
        r = self.web.request(method, path, data, h)
        for c in r.cookies():
            name, _, rest = c.partition("=")
            value = rest.split(";", 1)[0]
            if name == self.web.cookie_name:
                self.cookie = f"{name}={value}" if value else None
        return r

    def login(self, address=ADMIN, password=ADMIN_PW, expect=200):
        r = self.request("POST", "/api/login",
                         {"address": address, "password": password})
        assert r.status == expect, (r.status, r.body)
        if r.status == 200:
            self.csrf = r.json["csrf"]
        return r

    def api(self, method, path, body=None, expect=None, **kw):
        r = self.request(method, path, body, **kw)
        if expect is not None:
            assert r.status == expect, (method, path, r.status, r.body)
        return r


class Web:
    """The admin web of one petrel instance."""

    def __init__(self, petrel, port, plain=False):
        self.petrel = petrel
        self.host = petrel.host
        self.port = port
        self.plain = plain
        self.cookie_name = "petrel" if plain else "__Host-petrel"
        self._ctx = None

    def context(self):
        if self._ctx is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            # The server's own self-signed certificate is the trust
            # anchor; its name is mx.example.org, not 127.0.0.1.
            ctx.check_hostname = False
            ctx.load_verify_locations(
                str(self.petrel.data_dir / "tls-cert.pem"))
            self._ctx = ctx
        return self._ctx

    def connection(self, timeout=15):
        if self.plain:
            return http.client.HTTPConnection(self.host, self.port,
                                              timeout=timeout)
        return http.client.HTTPSConnection(self.host, self.port,
                                           timeout=timeout,
                                           context=self.context())

    def request(self, method, path, data=None, headers=None):
        c = self.connection()
        t0 = time.monotonic()
        try:
            c.request(method, path, body=data, headers=headers or {})
            r = c.getresponse()
            body = r.read()
            return Resp(r.status, r.headers, body, time.monotonic() - t0)
        finally:
            c.close()

    def client(self):
        return Client(self)

    def token(self, name="test"):
        return self.petrel.cli("admin", "token", "add", name).stdout.strip()

    def bearer(self, token):
        return {"Authorization": f"Bearer {token}"}

    def metrics(self, headers=None):
        r = self.request("GET", "/metrics", headers=headers)
        assert r.status == 200, (r.status, r.body)
        return parse_metrics(r.body.decode())


def parse_metrics(text):
    """Prometheus text format into {'name{labels}': value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


def make_web(factory, name="w", extra=None, admin=True, users=("alice",),
             plain=False):
    """A started petrel with admin_listen on a free port and an admin."""
    port = free_port()
    settings = {"admin_listen": f"127.0.0.1:{port}"}
    if plain:
        settings["admin_plain_http"] = "yes"
    settings.update(extra or {})
    p = factory(name, extra=settings, users=users, start=False)
    if admin:
        p.cli("admin", "add", ADMIN, input=ADMIN_PW + "\n")
    p.start()
    wait_port(p.host, port, p.proc)
    return Web(p, port, plain=plain)


def wait_for(fn, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(step)
