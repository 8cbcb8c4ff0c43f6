"""The admin pages in a real browser: headless Chromium (Debian's chromium
and chromium-driver) driven by Selenium, against a real petrel over HTTPS.

One walk through the pages as an administrator would: log in, add a
domain and a user, send that user a mail by SMTP and see the dashboard
count it, find a message the queue keeps (its destination's MX answers
451, via dnsmasq and a small aiosmtpd), look at it (its Subject and
sender are HTML and must stay text), retry it, delete it, log out.

A screenshot of the dashboard is saved to build/test-artifacts/
dashboard.png (ARTIFACTS below).
"""

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import DNS, ROOT, Raw, free_port, greet, queue_id, raw_send
from webutil import ADMIN, ADMIN_PW, make_web, wait_for

ARTIFACTS = ROOT / "build" / "test-artifacts"

RECORDS = [
    "mx-host=tempfail.ptest,mx.tempfail.ptest,10",
    "host-record=mx.tempfail.ptest,127.0.0.1",
]

XSS_SUBJECT = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>"
XSS_SENDER = b'"<img src=x onerror=window.pwned=3>"@evil.ptest'


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    d = DNS(tmp_path_factory.mktemp("webzone"), RECORDS)
    yield d
    d.stop()


@pytest.fixture
def tempfail_mx():
    """An MX that answers every RCPT with 451: mail to it stays queued."""
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.rcpts = 0

        async def handle_RCPT(self, server, session, envelope, address,
                              rcpt_options):
            self.rcpts += 1
            return "451 4.3.0 Greylisted, try again later"

    handler = Handler()
    port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    ctl.port_ = port
    ctl.handler_ = handler
    yield ctl
    ctl.stop()


@pytest.fixture
def browser():
    profile = tempfile.mkdtemp(prefix="petrel-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
              "--ignore-certificate-errors", "--window-size=1280,1400"]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                           options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait(drv, cond, timeout=15):
    return WebDriverWait(drv, timeout, poll_frequency=0.1).until(cond)


def text_of(drv, css):
    return drv.find_element(By.CSS_SELECTOR, css).text


def status_says(drv, words):
    return wait(drv, lambda d: words in text_of(d, "#status"))


def no_alert(drv):
    try:
        a = drv.switch_to.alert
    except NoAlertPresentException:
        return True
    raise AssertionError(f"unexpected alert: {a.text}")


def test_admin_walkthrough(petrel_factory, zone, tempfail_mx, browser):
    web = make_web(petrel_factory, extra={
        "dns_servers": zone.server,
        "outbound_port": str(tempfail_mx.port_),
        "retry_intervals": "1h",
    }, users=())
    token = web.token("browser-test")
    bearer = web.bearer(token)
    base = f"https://127.0.0.1:{web.port}"
    drv = browser

    # Not logged in: every page leads to the login page.
    drv.get(base + "/queue")
    wait(drv, EC.url_to_be(base + "/login"))
    drv.find_element(By.ID, "address").send_keys(ADMIN)
    drv.find_element(By.ID, "password").send_keys("wrong")
    drv.find_element(By.ID, "submit").click()
    status_says(drv, "wrong address or password")
    drv.find_element(By.ID, "password").send_keys(ADMIN_PW)
    drv.find_element(By.ID, "submit").click()
    wait(drv, EC.url_to_be(base + "/dashboard"))
    wait(drv, lambda d: d.find_element(By.TAG_NAME, "body")
         .get_attribute("data-loaded") == "yes")
    assert text_of(drv, "#who") == ADMIN
    # The session cookie is out of the page's reach (HttpOnly).
    assert "petrel" not in drv.execute_script("return document.cookie")

    # A domain and a user.
    drv.find_element(By.ID, "nav-domains").click()
    wait(drv, EC.url_to_be(base + "/domains"))
    status_says(drv, "Loading: done")
    drv.find_element(By.ID, "name").send_keys("shop.ptest")
    drv.find_element(By.ID, "add-domain").click()
    status_says(drv, "Adding shop.ptest: done")
    wait(drv, lambda d: "shop.ptest" in text_of(d, "#list"))
    drv.find_element(By.ID, "nav-users").click()
    wait(drv, EC.url_to_be(base + "/users"))
    status_says(drv, "Loading: done")
    drv.find_element(By.ID, "address").send_keys("carol@shop.ptest")
    drv.find_element(By.ID, "password").send_keys("carol-pw")
    drv.find_element(By.ID, "quota").send_keys("100m")
    drv.find_element(By.ID, "add-user").click()
    status_says(drv, "Adding carol@shop.ptest: done")
    wait(drv, lambda d: "carol@shop.ptest" in text_of(d, "#list"))
    assert "100m" in text_of(drv, "#list")
    assert web.petrel.cli("user", "list", "shop.ptest").stdout == \
        "carol@shop.ptest\n"

    # Mail for carol (delivered) and for a domain whose MX says 451
    # (queued), both with HTML where a page could trip over it.
    c = greet(Raw(web.petrel.port))
    try:
        msg = (f"From: someone@evil.ptest\r\nSubject: {XSS_SUBJECT}\r\n\r\n"
               "<b>hello</b>\r\n").encode()
        code, lines = raw_send(c, XSS_SENDER, [b"carol@shop.ptest"], msg)
        assert code == 250, lines
        code, lines = raw_send(c, XSS_SENDER, [b"dave@tempfail.ptest"], msg)
        assert code == 250, lines
        queued = queue_id(lines[0])
    finally:
        c.close()
    assert web.petrel.wait_mailbox("carol", 1, domain="shop.ptest")
    assert wait_for(lambda: tempfail_mx.handler_.rcpts >= 1, 10)

    # The dashboard counts them.
    drv.find_element(By.ID, "nav-dashboard").click()
    wait(drv, EC.url_to_be(base + "/dashboard"))
    wait(drv, lambda d: text_of(d, "#received-total") == "2", 20)
    wait(drv, lambda d: text_of(d, "#delivered-total") == "1", 20)
    wait(drv, lambda d: text_of(d, "#deferred-total") == "1", 20)
    wait(drv, lambda d: text_of(d, "#queue-messages") == "1", 20)
    # Chart.js (Debian's) drew the charts.
    assert drv.execute_script("return typeof Chart") == "function"
    assert drv.execute_script(
        "return Chart.getChart(document.getElementById('traffic'))"
        ".data.datasets.length") == 4
    # The last hour, for the screenshot: a minute is wide enough to see.
    Select(drv.find_element(By.ID, "range")).select_by_value("60")
    status_says(drv, "Loading: done")
    assert drv.execute_script(
        "return Chart.getChart(document.getElementById('traffic'))"
        ".data.labels.length") == 60
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    drv.save_screenshot(str(shot))
    assert shot.stat().st_size > 10000

    # The queue: the message, why it waits, and what it says, as text.
    drv.find_element(By.ID, "nav-queue").click()
    wait(drv, EC.url_to_be(base + "/queue"))
    row = wait(drv, EC.presence_of_element_located((By.ID, "msg-" + queued)))
    assert "451" in row.text and "Greylisted" in row.text
    assert '<"<img src=x onerror=window.pwned=3>"@evil.ptest>' in row.text
    row.find_element(By.CSS_SELECTOR, "button.show").click()
    wait(drv, lambda d: "Subject:" in text_of(d, "#detail-message"))
    shown = text_of(drv, "#detail-message")
    assert "Subject: " + XSS_SUBJECT in shown
    assert "<b>hello</b>" in shown
    assert "onerror=window.pwned=3" in text_of(drv, "#detail-title")
    # Nothing of it became markup, nothing ran.
    assert drv.find_elements(By.CSS_SELECTOR, "main img, main script, "
                             "main b") == []
    assert drv.execute_script("return window.pwned") is None
    no_alert(drv)

    # Retry: another attempt at the MX at once (the next one is in 1 h).
    before = tempfail_mx.handler_.rcpts
    row = drv.find_element(By.ID, "msg-" + queued)
    row.find_element(By.CSS_SELECTOR, "button.retry").click()
    status_says(drv, f"Retrying {queued}: done")
    assert wait_for(lambda: tempfail_mx.handler_.rcpts > before, 10)

    def attempts():
        r = web.request("GET", f"/api/queue/{queued}", headers=bearer)
        return r.json["recipients"][0]["attempts"]
    assert wait_for(lambda: attempts() >= 2, 10)

    # Its log lines.
    drv.get(base + "/logs?id=" + queued)
    wait(drv, lambda d: f"{queued}: to=<dave@tempfail.ptest>" in
         text_of(d, "#lines"))
    assert f"POST /api/queue/{queued}/flush by <{ADMIN}>" in \
        text_of(drv, "#lines")

    # Delete it (after a confirmation).
    drv.find_element(By.ID, "nav-queue").click()
    row = wait(drv, EC.presence_of_element_located((By.ID, "msg-" + queued)))
    row.find_element(By.CSS_SELECTOR, "button.delete").click()
    alert = wait(drv, EC.alert_is_present())
    assert queued in alert.text
    alert.accept()
    status_says(drv, f"Deleting {queued}: done")
    wait(drv, lambda d: d.find_elements(By.ID, "msg-" + queued) == [])
    assert "The queue is empty" in text_of(drv, "#list")
    assert queued not in web.petrel.cli("queue", "list").stdout

    # The other pages load and show what is there.
    drv.get(base + "/dns?domain=shop.ptest")
    wait(drv, lambda d: "v=spf1 mx -all" in text_of(d, "#zone"))
    drv.get(base + "/aliases")
    status_says(drv, "Loading: done")
    drv.get(base + "/badmail")
    status_says(drv, "Loading: done")

    # Log out: back at the login page, and the pages are closed again.
    drv.find_element(By.ID, "logout").click()
    wait(drv, EC.url_to_be(base + "/login"))
    drv.get(base + "/dashboard")
    wait(drv, EC.url_to_be(base + "/login"))

    # No script error and no CSP violation on the way.
    problems = [e for e in drv.get_log("browser")
                if e["level"] == "SEVERE" and "401" not in e["message"]
                and "favicon" not in e["message"]]
    assert problems == [], problems


def test_mail_user_changes_password_in_browser(petrel_factory, browser):
    web = make_web(petrel_factory, users=("alice",))
    base = f"https://127.0.0.1:{web.port}"
    drv = browser
    drv.get(base + "/login")
    drv.find_element(By.ID, "address").send_keys("alice@example.org")
    drv.find_element(By.ID, "password").send_keys("secret")
    drv.find_element(By.ID, "submit").click()
    wait(drv, EC.url_to_be(base + "/password"))
    wait(drv, lambda d: text_of(d, "#me") == "alice@example.org")
    # Only the password page in the navigation; the others send it back.
    links = [a.text for a in drv.find_elements(By.CSS_SELECTOR, "#top a")]
    assert links == ["Password"]
    drv.get(base + "/queue")
    wait(drv, EC.url_to_be(base + "/password"))
    drv.find_element(By.ID, "current").send_keys("secret")
    drv.find_element(By.ID, "new").send_keys("n3w-pass")
    drv.find_element(By.ID, "again").send_keys("n3w-pass")
    drv.find_element(By.ID, "change").click()
    status_says(drv, "Changing the password: done")
    web.client().login("alice@example.org", "n3w-pass")
