#!/usr/bin/env python3
"""login_check.py SIM_URL MERCHANT_URL LABEL: the login checks against one merchant's POST /login
(contract in interop/README.md, "The login"), standard library only.

Against a running `alipay-sim serve` (app `demo`, user `alice`) and a merchant configured with the
app's bundle and ALIPAY_GATEWAY=<SIM_URL>/gateway.do:
  login      a fresh auth code and a fresh getPhoneNumber envelope: 200, alice's mobile, her open_id
             (and user_id, null or hers), as the simulator's admin API has them;
  reused     the same code again: 401 auth_code 40002 isv.code-invalid;
  tampered   a fresh code while the admin fault gateway_bad_sign_rate is 1 (every gateway answer
             signed over other bytes): 401 gateway_signature, no user id in the answer;
  envelope   a fresh code with an envelope whose sign has one bit flipped: 400 rejected;
  malformed  a body without authCode: 400.
Prints one ok/FAIL line per check.
"""
import base64
import json
import sys
import urllib.error
import urllib.request

sim, merchant, label = sys.argv[1:4]


def http(method, url, body=None, raw=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode("utf-8"))
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=20) as res:
            status, text = res.status, res.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode("utf-8")
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def admin(method, path, body=None):
    status, answer = http(method, sim + path, body)
    if status >= 300:
        raise RuntimeError("%s %s: HTTP %d %r" % (method, path, status, answer))
    return answer


def code():
    return admin("POST", "/jsapi/apps/demo/users/alice/getAuthCode", {"scopes": "auth_base"})["authCode"]


def envelope():
    return admin("POST", "/jsapi/apps/demo/users/alice/getPhoneNumber")["response"]


def login(auth_code, response):
    return http("POST", merchant + "/login", {"authCode": auth_code, "response": response})


def report(name, problems, status, answer):
    if problems:
        print("FAIL %s.login.%s: %s; answer %d %s" % (label, name, "; ".join(problems), status, json.dumps(answer, ensure_ascii=False)[:300]))
    else:
        print("ok %s.login.%s (%d %s)" % (label, name, status, json.dumps(answer, ensure_ascii=False)[:160]))


def expect(name, status, answer, want_status, want):
    problems = []
    if status != want_status:
        problems.append("status %d, expected %d" % (status, want_status))
    if not isinstance(answer, dict):
        problems.append("the answer is not a JSON object")
    else:
        for key, value in want.items():
            if answer.get(key) != value:
                problems.append("%s is %r, expected %r" % (key, answer.get(key), value))
    report(name, problems, status, answer)


alice = admin("GET", "/__admin/apps/demo/users/alice")
first = code()
status, answer = login(first, envelope())
problems = []
if status != 200 or not isinstance(answer, dict):
    problems.append("status %d, expected 200" % status)
else:
    if answer.get("mobile") != alice["mobile"]:
        problems.append("mobile %r, expected %r" % (answer.get("mobile"), alice["mobile"]))
    if answer.get("open_id") != alice["open_id"]:
        problems.append("open_id %r, expected %r" % (answer.get("open_id"), alice["open_id"]))
    if answer.get("user_id", "absent") not in (None, alice["alipay_user_id"]):
        problems.append("user_id %r, expected null or %r" % (answer.get("user_id", "absent"), alice["alipay_user_id"]))
report("genuine", problems, status, answer)

status, answer = login(first, envelope())
expect("reused-code", status, answer, 401, {"status": "rejected", "error": "auth_code", "code": "40002", "sub_code": "isv.code-invalid"})

admin("PUT", "/__admin/faults", {"gateway_bad_sign_rate": 1})
try:
    status, answer = login(code(), envelope())
finally:
    admin("PUT", "/__admin/faults", {})
expect("tampered-answer", status, answer, 401, {"status": "rejected", "error": "gateway_signature"})
if isinstance(answer, dict) and (answer.get("open_id") or answer.get("user_id")):
    print("FAIL %s.login.tampered-answer.no-identity: the refusal carries a user id" % label)

env = json.loads(envelope())
sig = bytearray(base64.b64decode(env["sign"]))
sig[10] ^= 1
env["sign"] = base64.b64encode(bytes(sig)).decode("ascii")
status, answer = login(code(), json.dumps(env, separators=(",", ":")))
expect("bad-envelope", status, answer, 400, {"status": "rejected"})

status, answer = http("POST", merchant + "/login", raw=b'{"response":"{}"}')
expect("malformed", status, answer, 400, {"status": "rejected"})
