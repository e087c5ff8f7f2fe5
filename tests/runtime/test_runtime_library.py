"""The runtime's secret read fed to google-auth-oauthlib (scripts/runtime-library-test.sh).

`{"web": <the body of GET /v1/tenants/{slug}/credentials/active/secret>}` must be accepted by
Flow.from_client_config as is, and the authorization URL it builds must carry the uploaded
client id and the issued redirect URI. Flow.from_client_config raises ValueError when the
config lacks auth_uri or token_uri; the test checks both are in the body first, loudly.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from google_auth_oauthlib.flow import Flow

BASE = os.environ["BASE_URL"]
SUPPORT = os.environ["SUPPORT_TOKEN"]
RUNTIME = os.environ["RUNTIME_TOKEN"]
SLUG = "rtlib-%d" % (int(time.time()) % 100000)
CLIENT_ID = "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-AbCdEfGhIjKlMnOpQrStUvWx_-12"


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def call(method, path, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def expect(status, wanted, what, body):
    if status != wanted:
        fail("%s: HTTP %s, wanted %s: %s" % (what, status, wanted, body))


def main():
    status, body = call("POST", "/v1/tenants", SUPPORT, {"slug": SLUG, "display_name": "Runtime Library 株式会社"})
    expect(status, 201, "create tenant", body)
    status, uri_set = call("POST", "/v1/tenants/%s/uri-sets" % SLUG, SUPPORT)
    expect(status, 201, "issue URI set", uri_set)
    redirect_uri = uri_set["redirect_uris"][0]
    client_secrets = {
        "web": {
            "client_id": CLIENT_ID,
            "project_id": "all-gather-crm-google-calendar",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_secret": CLIENT_SECRET,
            "redirect_uris": uri_set["redirect_uris"],
            "javascript_origins": uri_set["javascript_origins"],
        }
    }
    status, credential = call("POST", "/v1/tenants/%s/credentials" % SLUG, SUPPORT, client_secrets)
    expect(status, 202, "upload", credential)
    path = "/v1/tenants/%s/credentials/%s" % (SLUG, credential["id"])
    deadline = time.monotonic() + 30
    while credential["state"] in ("pending", "verifying"):
        if time.monotonic() > deadline:
            fail("no verdict within 30 s: %s" % credential)
        time.sleep(0.3)
        status, credential = call("GET", path, SUPPORT)
        expect(status, 200, "get credential", credential)
    if credential["state"] != "verified":
        fail("the upload was not verified: %s" % json.dumps(credential, ensure_ascii=False))

    status, secret = call("GET", "/v1/tenants/%s/credentials/active/secret" % SLUG, RUNTIME)
    expect(status, 200, "runtime secret read", secret)
    for key in ("client_id", "client_secret", "auth_uri", "token_uri"):
        if not secret.get(key):
            fail("the runtime's body lacks %s, which Google's libraries require: %s" % (key, sorted(secret)))

    flow = Flow.from_client_config(
        {"web": secret}, scopes=["https://www.googleapis.com/auth/calendar"], redirect_uri=redirect_uri
    )
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    parsed = urllib.parse.urlparse(url)
    query = urllib.parse.parse_qs(parsed.query)
    if "%s://%s%s" % (parsed.scheme, parsed.netloc, parsed.path) != secret["auth_uri"]:
        fail("the authorization URL is not at auth_uri: %s" % url)
    if query.get("client_id") != [CLIENT_ID]:
        fail("client_id of the URL is %s, wanted %s" % (query.get("client_id"), CLIENT_ID))
    if query.get("redirect_uri") != [redirect_uri]:
        fail("redirect_uri of the URL is %s, wanted %s" % (query.get("redirect_uri"), redirect_uri))
    if not state or query.get("state") != [state]:
        fail("no state in the URL: %s" % url)
    print("ok: Flow.from_client_config accepted {\"web\": <runtime body>}; %s" % url)


if __name__ == "__main__":
    main()
