#!/usr/bin/env python3
"""login_sdk.py <base-url>: the official Alipay Python SDK (PyPI `alipay-sdk-python`, pinned in
requirements.txt) against a running `alipay-sim serve`: the login a merchant back-end performs after
`my.getAuthCode`.

- The SDK is configured from the app's bundle (GET /__admin/apps/demo/bundle: app_id,
  app_private_key (TEST ONLY, PKCS#8; the SDK signs with PKCS#1 keys only, so it is converted),
  alipay_public_key) with `server_url = <base>/gateway.do`. A code from
  POST /jsapi/apps/demo/users/alice/getAuthCode is exchanged with `DefaultAlipayClient.execute`
  (which verifies the answer's signature whenever it is configured with an Alipay public key) and
  AlipaySystemOauthTokenRequest / AlipaySystemOauthTokenResponse; the token is refreshed, and
  AlipayUserInfoShareRequest answers the profile.
- A request signed with another key (keys/attacker) comes back as 40002 isv.invalid-signature, a
  reused code as 40002 isv.code-invalid (`response.is_success()` false, `sub_code`).
- With the admin fault `gateway_bad_sign_rate: 1` the SDK refuses the answer
  ("response sign verify failed").
The Python SDK has no certificate mode and no v3 client, so neither is checked here.
Every check prints one `ok` or `FAIL` line; the last line is "N passed, M failed"; exit 1 on any
failure.

sdk.py (imported first) carries the SDK's two Python 3 fixes: the AES IV type, and
`get_http_connection`, which as published ignores the port of `server_url`.
"""
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdk import pkcs1_private_key_pem  # noqa: E402  (also installs the Python 3 fixes)

from alipay.aop.api.AlipayClientConfig import AlipayClientConfig  # noqa: E402
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient  # noqa: E402
from alipay.aop.api.request.AlipaySystemOauthTokenRequest import AlipaySystemOauthTokenRequest  # noqa: E402
from alipay.aop.api.request.AlipayUserInfoShareRequest import AlipayUserInfoShareRequest  # noqa: E402
from alipay.aop.api.response.AlipaySystemOauthTokenResponse import AlipaySystemOauthTokenResponse  # noqa: E402
from alipay.aop.api.response.AlipayUserInfoShareResponse import AlipayUserInfoShareResponse  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
passed = failed = 0


def ok(name, detail=""):
    global passed
    passed += 1
    print("ok %s%s" % (name, " (%s)" % detail if detail else ""), flush=True)


def fail(name, why):
    global failed
    failed += 1
    print("FAIL %s: %s" % (name, why), flush=True)


def check(name, fn):
    """Runs one named check; an exception is that check's failure, never the script's."""
    try:
        ok(name, fn())
    except Exception as err:  # noqa: BLE001
        fail(name, "%s: %s" % (type(err).__name__, str(err)[:400]))


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=10) as res:
        text = res.read().decode("utf-8")
    return json.loads(text) if text else None


def auth_code(base, app, user, scopes="auth_base"):
    answer = call(base, "POST", "/jsapi/apps/%s/users/%s/getAuthCode" % (app, user), {"scopes": scopes})
    expect(isinstance(answer.get("authCode"), str) and answer["authCode"], "getAuthCode answered %r" % answer)
    return answer["authCode"]


def client(base, bundle, private_key_pem):
    config = AlipayClientConfig()
    config.server_url = base + "/gateway.do"
    config.app_id = bundle["app_id"]
    config.app_private_key = pkcs1_private_key_pem(private_key_pem)
    config.alipay_public_key = bundle["alipay_public_key"]
    return DefaultAlipayClient(alipay_client_config=config)


def oauth_token(alipay_client, grant_type, value):
    request = AlipaySystemOauthTokenRequest()
    request.grant_type = grant_type
    if grant_type == "authorization_code":
        request.code = value
    else:
        request.refresh_token = value
    response = AlipaySystemOauthTokenResponse()
    response.parse_response_content(alipay_client.execute(request))
    return response


def main():
    if len(sys.argv) != 2:
        print("usage: login_sdk.py <base-url>", file=sys.stderr)
        return 2
    base = sys.argv[1].rstrip("/")
    try:
        bundle = call(base, "GET", "/__admin/apps/demo/bundle")
        alice = call(base, "GET", "/__admin/apps/demo/users/alice")
        sdk = client(base, bundle, bundle["app_private_key"])
    except Exception as err:  # noqa: BLE001
        fail("setup", "%s: %s" % (type(err).__name__, err))
        print("%d passed, %d failed" % (passed, failed))
        return 1

    def same_user(r):
        return (r.open_id is not None and r.open_id == alice.get("open_id")) or \
            (r.user_id is not None and r.user_id == alice.get("alipay_user_id"))

    token = {}

    def exchange():
        r = oauth_token(sdk, "authorization_code", auth_code(base, "demo", "alice"))
        expect(r.is_success() and same_user(r), "answered %s" % r.body)
        expect(r.access_token and r.refresh_token, "no access_token / refresh_token in %s" % r.body)
        token["refresh"] = r.refresh_token
        return "open_id %s, user_id %s" % (r.open_id or "-", r.user_id or "-")
    check("python.oauth.token (execute, answer verified)", exchange)

    def refresh():
        r = oauth_token(sdk, "refresh_token", token["refresh"])
        expect(r.is_success() and r.access_token and same_user(r), "answered %s" % r.body)
        return "new access_token"
    check("python.oauth.token refresh_token", refresh)

    def share():
        t = oauth_token(sdk, "authorization_code", auth_code(base, "demo", "alice", "auth_user"))
        expect(t.is_success(), "oauth.token answered %s" % t.body)
        request = AlipayUserInfoShareRequest()
        # The request class has no auth_token field; a common parameter is added this way.
        request.add_other_text_param("auth_token", t.access_token)
        r = AlipayUserInfoShareResponse()
        r.parse_response_content(sdk.execute(request))
        expect(r.is_success() and same_user(r), "answered %s" % r.body)
        return "nick_name %s" % r.nick_name
    check("python.user.info.share (auth_user)", share)

    def reused():
        code = auth_code(base, "demo", "alice")
        first = oauth_token(sdk, "authorization_code", code)
        expect(first.is_success(), "the first exchange answered %s" % first.body)
        r = oauth_token(sdk, "authorization_code", code)
        expect(not r.is_success() and r.code == "40002" and r.sub_code == "isv.code-invalid", "answered %s" % r.body)
        return "%s %s %s" % (r.code, r.sub_code, r.sub_msg)
    check("python.reused-code", reused)

    def wrong_key():
        with open(os.path.join(ROOT, "keys", "attacker", "private.pkcs8.pem"), encoding="utf-8") as f:
            forged = client(base, bundle, f.read())
        r = oauth_token(forged, "authorization_code", auth_code(base, "demo", "alice"))
        expect(not r.is_success() and r.code == "40002" and r.sub_code == "isv.invalid-signature", "answered %s" % r.body)
        return "%s %s" % (r.code, r.sub_code)
    check("python.wrong-key", wrong_key)

    def tampered():
        call(base, "PUT", "/__admin/faults", {"gateway_bad_sign_rate": 1})
        try:
            code = auth_code(base, "demo", "alice")
            try:
                r = oauth_token(sdk, "authorization_code", code)
            except Exception as err:  # noqa: BLE001 -- the SDK's ResponseException is what we want
                expect(type(err).__name__ == "ResponseException" and "sign verify failed" in str(err), "raised %r" % err)
                return "ResponseException: response sign verify failed"
            raise AssertionError("accepted %s" % r.body)
        finally:
            call(base, "PUT", "/__admin/faults", {})
    check("python.tampered-answer refused", tampered)

    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
