"""The tenant admin's web page in a real browser (headless Chromium through chromedriver).

Run by scripts/browser-test.sh against a `provisioner run` it started: BASE_URL, SUPPORT_TOKEN,
SCREENSHOT_DIR and CHROMEDRIVER come from there. Prints "N passed, N failed" and exits non-zero
on any failure.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["BASE_URL"]
SUPPORT = os.environ["SUPPORT_TOKEN"]
SHOTS = os.environ.get("SCREENSHOT_DIR", ".local/screenshots")
SLUG = "browser-acme"
DATABASE = os.environ.get("BROWSER_DATABASE_URL")


def api(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + SUPPORT)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
        return response.status, (json.loads(text) if text else None)


def client_secrets(origins, redirects):
    return json.dumps({"web": {
        "client_id": "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com",
        "project_id": "all-gather-crm-google-calendar",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_secret": "GOCSPX-abcdefghijklmnopqrstuvwxyz12",
        "redirect_uris": redirects,
        "javascript_origins": origins,
    }})


def screenshot(driver, name):
    os.makedirs(SHOTS, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(900, min(int(height) + 40, 6000)))
    path = os.path.join(SHOTS, name + ".png")
    driver.save_screenshot(path)
    driver.set_window_size(1280, 900)
    print("screenshot", path)


def wait_state(driver, states, timeout=20):
    """The newest upload's state once it is one of `states` (the page reloads itself meanwhile)."""
    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(
        lambda d: d.find_element(By.ID, "credential-state").text.strip() in states)
    time.sleep(0.3)
    WebDriverWait(driver, 5).until(lambda d: d.execute_script("return document.readyState") == "complete")
    return driver.find_element(By.ID, "credential-state").text.strip()


def main():
    status, _ = api("POST", "/v1/tenants", {"slug": SLUG, "display_name": "Acme 株式会社"})
    assert status == 201, status
    status, uri_set = api("POST", "/v1/tenants/%s/uri-sets" % SLUG)
    assert status == 201, status
    status, link = api("POST", "/v1/tenants/%s/onboarding-links" % SLUG, {"expires_in_hours": 24})
    assert status == 201 and link["url"].startswith(BASE + "/connect/"), link
    origins, redirects = uri_set["javascript_origins"], uri_set["redirect_uris"]

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=ja"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "ja"})
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    passed, failed = 0, 0
    files = tempfile.mkdtemp()

    def check(name, function):
        nonlocal passed, failed
        try:
            function()
            passed += 1
            print("ok", name)
        except Exception:
            failed += 1
            print("FAILED", name)
            traceback.print_exc()
            try:
                screenshot(driver, "failed-" + name)
            except Exception:
                pass

    def opens_the_link():
        driver.get(link["url"])
        WebDriverWait(driver, 10).until(EC.url_to_be(BASE + "/console/tenants/" + SLUG))
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
        shown_origins = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#issued-origins li")]
        shown_redirects = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#issued-redirect-uris li")]
        assert shown_origins == origins, shown_origins
        assert shown_redirects == redirects, shown_redirects
        # One copy button per value, shown once our script runs.
        for list_id, values in (("issued-origins", origins), ("issued-redirect-uris", redirects)):
            buttons = driver.find_elements(By.CSS_SELECTOR, "#%s li button.copy" % list_id)
            assert len(buttons) == len(values) and all(b.is_displayed() for b in buttons), list_id
            assert [b.get_attribute("data-copy") for b in buttons] == values
        assert "ウェブアプリケーション" in driver.page_source
        assert "All Gather CRM Google Calendar" in driver.page_source
        assert driver.find_element(By.CSS_SELECTOR, 'a[href="https://console.cloud.google.com/apis/credentials"]')
        # Sync cannot be ticked before a credential is active, and says why.
        assert not driver.find_element(By.ID, "sync-enabled").is_enabled()
        assert driver.find_element(By.ID, "sync-reason").text
        # Every input has a visible label.
        for element in driver.find_elements(By.CSS_SELECTOR, "input:not([type=hidden])"):
            label = driver.find_element(By.CSS_SELECTOR, 'label[for="%s"]' % element.get_attribute("id"))
            assert label.is_displayed() and label.text.strip(), element.get_attribute("id")
        screenshot(driver, "01-tenant-page-ja")
        accessible("tenant page, ja")

    def near_miss_is_shown():
        path = os.path.join(files, "near-miss", "client_secrets.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(client_secrets(origins, [redirects[0] + "/", redirects[1]]))
        driver.find_element(By.ID, "file").send_keys(path)
        driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
        assert wait_state(driver, {"rejected", "verified"}) == "rejected"
        items = driver.find_elements(By.CSS_SELECTOR, "#findings li")
        codes = [item.get_attribute("data-code") for item in items]
        assert "redirect_uri_missing" in codes, codes
        missing = items[codes.index("redirect_uri_missing")]
        assert redirects[0] in missing.text
        assert missing.find_element(By.CSS_SELECTOR, ".near-miss mark").is_displayed()
        screenshot(driver, "02-rejected-near-miss")

    def upload_is_verified():
        path = os.path.join(files, "good", "client_secrets.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(client_secrets(origins, redirects))
        driver.find_element(By.ID, "file").send_keys(path)
        driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
        assert wait_state(driver, {"verified", "rejected"}) == "verified"
        assert driver.find_elements(By.CSS_SELECTOR, "#findings li") == [] or all(
            item.get_attribute("data-code") for item in driver.find_elements(By.CSS_SELECTOR, "#findings li"))

    def settings_are_saved():
        driver.get(BASE + "/console/tenants/" + SLUG)
        sync = driver.find_element(By.ID, "sync-enabled")
        assert sync.is_enabled()
        if not sync.is_selected():
            sync.click()
        driver.find_element(By.CSS_SELECTOR, 'label[for="color-7"]').click()
        driver.find_element(By.CSS_SELECTOR, "#calendar-form button[type=submit]").click()
        WebDriverWait(driver, 10).until(lambda d: "done=saved" in d.current_url)
        assert driver.find_element(By.ID, "sync-enabled").is_selected()
        assert driver.find_element(By.ID, "color-7").is_selected()
        _, tenant = api("GET", "/v1/tenants/" + SLUG)
        assert tenant["calendar_settings"] == {"sync_enabled": True, "default_event_color": "7"}, tenant
        screenshot(driver, "03-verified-settings-saved")
        accessible("verified, settings saved")

    def language_switch():
        driver.find_element(By.CSS_SELECTOR, '#language-switch a[hreflang="en"]').click()
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
        assert "Web application" in driver.page_source
        assert driver.find_element(By.ID, "credential-state").text == "verified"
        screenshot(driver, "04-tenant-page-en")
        accessible("tenant page, en")

    def health_is_shown():
        """The active credential's health, as the worker would leave it (set in SQL): the state,
        what to do, and the URI to add; unchecked right after the verdict."""
        driver.get(BASE + "/console/language?lang=ja&next=/console/tenants/" + SLUG)
        assert driver.find_element(By.ID, "credential-health").get_attribute("data-health") == "unchecked"
        if not DATABASE:
            return
        subprocess.run(["psql", DATABASE, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                        "UPDATE credentials c SET health_state = 'redirect_uri_not_registered', health_checked_at = now(), "
                        "health_uris = jsonb_build_array(jsonb_build_object('uri', '%s', 'state', 'redirect_uri_not_registered')) "
                        "FROM tenants t WHERE t.slug = '%s' AND c.id = t.active_credential_id" % (redirects[0], SLUG)], check=True)
        driver.get(BASE + "/console/tenants/" + SLUG)
        section = driver.find_element(By.ID, "credential-health")
        assert section.get_attribute("data-health") == "redirect_uri_not_registered"
        assert "承認済みのリダイレクト URI" in driver.find_element(By.ID, "health-action").text
        assert redirects[0] in driver.find_element(By.ID, "health-uris").text
        screenshot(driver, "04b-health-not-registered-ja")
        accessible("tenant page, health not registered, ja")
        driver.get(BASE + "/console/language?lang=en&next=/console/tenants/" + SLUG)
        assert "Authorized redirect URIs" in driver.find_element(By.ID, "health-action").text
        accessible("tenant page, health not registered, en")

    def accessible(page):
        """axe-core on the page shown: no serious or critical violation."""
        axe = Axe(driver)
        axe.inject()
        results = axe.run()
        bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
        assert not bad, page + ": " + "; ".join(
            "%s (%s) at %s" % (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in bad)

    def findings_are_japanese_then_english():
        driver.get(BASE + "/console/language?lang=ja&next=/console/tenants/" + SLUG)
        # The rejected upload of near_miss_is_shown is not the newest any more: upload it again.
        path = os.path.join(files, "near-miss", "client_secrets.json")
        driver.find_element(By.ID, "file").send_keys(path)
        driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
        assert wait_state(driver, {"rejected", "verified"}) == "rejected"
        text = driver.find_element(By.ID, "findings").text
        assert "承認済みのリダイレクト URI" in text, text
        accessible("rejected, ja")
        driver.find_element(By.CSS_SELECTOR, '#language-switch a[hreflang="en"]').click()
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
        text = driver.find_element(By.ID, "findings").text
        assert "Authorized redirect URIs" in text, text
        accessible("rejected, en")

    def cookie_flags():
        cookies = [c for c in driver.get_cookies() if c.get("httpOnly")]
        assert cookies, driver.get_cookies()
        session = cookies[0]
        assert session.get("sameSite") == "Strict", session
        assert session.get("path") == "/", session
        assert not session.get("secure"), "http public URL: no Secure"

    def form_from_another_site_is_refused():
        _, before = api("GET", "/v1/tenants/" + SLUG)
        page = os.path.join(files, "evil.html")
        with open(page, "w") as handle:
            handle.write(
                '<form id="f" method="post" action="%s/console/tenants/%s/calendar-settings">'
                '<input name="default_event_color" value="11"><input name="csrf_token" value="guess"></form>'
                '<script>document.getElementById("f").submit()</script>' % (BASE, SLUG))
        driver.get("file://" + page)
        WebDriverWait(driver, 10).until(lambda d: d.current_url.startswith(BASE))
        time.sleep(0.5)
        assert "console/tenants" in driver.current_url
        _, after = api("GET", "/v1/tenants/" + SLUG)
        assert after["calendar_settings"] == before["calendar_settings"], (before, after)
        assert driver.find_elements(By.ID, "calendar-form") == [], "a refusal page, not the tenant's page"

    def revoked_and_expired_links():
        _, revoked = api("POST", "/v1/tenants/%s/onboarding-links" % SLUG, {"expires_in_hours": 1})
        status, _ = api("DELETE", "/v1/tenants/%s/onboarding-links/%s" % (SLUG, revoked["id"]))
        assert status == 204, status
        driver.get(BASE + "/console/language?lang=ja&next=/console/login")
        driver.get(revoked["url"])
        assert "/connect/" in driver.current_url
        assert driver.find_elements(By.ID, "upload-form") == []
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
        screenshot(driver, "05-revoked-link-ja")
        accessible("revoked link")
        if DATABASE:
            _, expired = api("POST", "/v1/tenants/%s/onboarding-links" % SLUG, {"expires_in_hours": 1})
            subprocess.run(["psql", DATABASE, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                            "UPDATE onboarding_links SET created_at = now() - interval '2 hours', "
                            "expires_at = now() - interval '1 hour' WHERE id = '%s'" % expired["id"]], check=True)
            driver.get(expired["url"])
            assert driver.find_elements(By.ID, "upload-form") == []
            assert "期限" in driver.page_source, "the page says the link expired"
            accessible("expired link")

    def login_page():
        driver.get(BASE + "/console/login")
        assert driver.find_element(By.CSS_SELECTOR, "form[action='/console/login']")
        screenshot(driver, "06-login")
        accessible("login")

    def support_signs_in_and_out():
        driver.get(BASE + "/console/login")
        driver.find_element(By.ID, "token").send_keys(SUPPORT)
        driver.find_element(By.CSS_SELECTOR, "form[action='/console/login'] button[type=submit]").click()
        WebDriverWait(driver, 10).until(EC.url_to_be(BASE + "/console"))
        assert SLUG in driver.page_source
        accessible("support home")
        driver.find_element(By.CSS_SELECTOR, "form[action='/console/logout'] button").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "form[action='/console/logout']") == [])
        accessible("signed out")
        driver.get(BASE + "/console/tenants/" + SLUG)
        assert driver.find_elements(By.ID, "upload-form") == [], "signed out: no tenant page"
        accessible("not signed in")

    def support_desk_day():
        """Sign in, create a tenant, issue its URIs, make a link and open it in a second browser,
        upload there, see the tenant verified in the list, revoke the link, sign out."""
        day = "browser-globex"
        driver.delete_all_cookies()
        driver.get(BASE + "/console/login")
        driver.find_element(By.ID, "token").send_keys(SUPPORT)
        driver.find_element(By.CSS_SELECTOR, "form[action='/console/login'] button[type=submit]").click()
        WebDriverWait(driver, 10).until(EC.url_to_be(BASE + "/console"))
        driver.find_element(By.ID, "new-slug").send_keys(day)
        driver.find_element(By.ID, "display-name").send_keys("Globex 合同会社")
        driver.find_element(By.CSS_SELECTOR, "#create-tenant-form button[type=submit]").click()
        WebDriverWait(driver, 10).until(EC.url_contains("/console/tenants/" + day))
        driver.find_element(By.CSS_SELECTOR, "#uri-set-form button[type=submit]").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#issued-redirect-uris li"))
        issued = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#issued-redirect-uris li")]
        issued_origins = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#issued-origins li")]
        driver.find_element(By.CSS_SELECTOR, "#link-form button[type=submit]").click()
        url = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "new-link-url")).text.strip()
        assert url.startswith(BASE + "/connect/"), url
        screenshot(driver, "07-support-tenant-page")
        accessible("support's tenant page")

        # The admin, in a browser of their own.
        admin = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
        try:
            admin.get(url)
            WebDriverWait(admin, 10).until(EC.url_to_be(BASE + "/console/tenants/" + day))
            path = os.path.join(files, "globex", "client_secrets.json")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write(client_secrets(issued_origins, issued))
            admin.find_element(By.ID, "file").send_keys(path)
            admin.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
            assert wait_state(admin, {"verified", "rejected"}) == "verified"
        finally:
            admin.quit()

        driver.get(BASE + "/console?q=globex")
        row = driver.find_element(By.XPATH, "//table[@id='tenants']//tr[td/code[text()='%s']]" % day)
        assert row.find_element(By.CSS_SELECTOR, "[data-state]").get_attribute("data-state") == "verified"
        screenshot(driver, "08-support-tenants")
        accessible("support's tenant list")
        driver.get(BASE + "/console/tenants/" + day)
        driver.find_element(By.CSS_SELECTOR, "#onboarding-links form[action$='/revoke'] button").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#onboarding-links form[action$='/revoke']") == [])
        _, links = api("GET", "/v1/tenants/%s/onboarding-links" % day)
        assert all(item.get("revoked_at") for item in links["items"]), links
        driver.get(BASE + "/console/audit?tenant=" + day)
        assert "onboarding_link" in driver.page_source or "link" in driver.page_source
        accessible("audit feed")
        driver.find_element(By.CSS_SELECTOR, "form[action='/console/logout'] button").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "form[action='/console/logout']") == [])

    def sign_in(token):
        driver.delete_all_cookies()
        driver.get(BASE + "/console/login")
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "form[action='/console/login'] button[type=submit]").click()
        WebDriverWait(driver, 10).until(EC.url_to_be(BASE + "/console"))

    def dashboard_sees_no_form_and_a_revoked_token_ends_its_session():
        status, made = api("POST", "/v1/tokens", {"role": "dashboard", "name": "browser-dashboard"})
        assert status == 201, status
        sign_in(made["token"])
        for path in ("/console", "/console/tenants/" + SLUG, "/console/audit"):
            driver.get(BASE + path)
            posts = [f.get_attribute("action") for f in driver.find_elements(By.CSS_SELECTOR, "form")
                     if (f.get_attribute("method") or "").lower() == "post"]
            assert all(action.endswith("/console/logout") for action in posts), (path, posts)
            accessible("dashboard " + path)
        status, _ = api("DELETE", "/v1/tokens/" + made["id"])
        assert status == 204, status
        driver.get(BASE + "/console/tenants/" + SLUG)
        assert driver.find_elements(By.CSS_SELECTOR, "form[action='/console/logout']") == [], "the session ended"
        assert driver.find_elements(By.ID, "desk") == []

    def keyboard_reaches_the_forms():
        driver.get(BASE + "/console/tenants/" + SLUG)
        seen = set()
        for _ in range(80):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            element = driver.switch_to.active_element
            seen.add(element.get_attribute("id") or element.tag_name)
        for wanted in ("file", "client_secret", "sync-enabled"):
            assert wanted in seen, (wanted, sorted(seen))

    for name, function in [
        ("opens_the_link", opens_the_link),
        ("cookie_flags", cookie_flags),
        ("near_miss_is_shown", near_miss_is_shown),
        ("upload_is_verified", upload_is_verified),
        ("settings_are_saved", settings_are_saved),
        ("language_switch", language_switch),
        ("health_is_shown", health_is_shown),
        ("keyboard_reaches_the_forms", keyboard_reaches_the_forms),
        ("form_from_another_site_is_refused", form_from_another_site_is_refused),
        ("findings_are_japanese_then_english", findings_are_japanese_then_english),
        ("revoked_and_expired_links", revoked_and_expired_links),
        ("login_page", login_page),
        ("support_signs_in_and_out", support_signs_in_and_out),
        ("support_desk_day", support_desk_day),
        ("dashboard_sees_no_form_and_a_revoked_token_ends_its_session", dashboard_sees_no_form_and_a_revoked_token_ends_its_session),
    ]:
        check(name, function)
    driver.quit()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
