#!/usr/bin/env bash
# Regenerates the committed seed corpora fuzz/corpus/<target>/ from the catalogue (scenarios/),
# the TEST keys (keys/), the fixtures (`alipay-sim fixtures`) and the contract examples.
# Deterministic: the same repository gives the same files (named by their SHA-1, as libFuzzer
# names its own). Run it after changing the catalogue, the keys or a target's input format:
#   bash fuzz/seed.sh            # uses $ALIPAY_SIM, else `cargo run -p alipay-sim`
#   bash fuzz/seed.sh DIR        # writes DIR/<target>/ instead (fuzz/run.sh checks the committed
#                                # corpus against a fresh one this way)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:-fuzz/corpus}

fixtures=$(mktemp)
trap 'rm -f "$fixtures"' EXIT
if [ -n "${ALIPAY_SIM:-}" ]; then
  "$ALIPAY_SIM" fixtures >"$fixtures"
else
  cargo run -q --locked -p alipay-sim -- fixtures >"$fixtures"
fi
rm -rf "$out"
OUT="$out" FIXTURES="$fixtures" python3 - <<'PY'
import glob, hashlib, json, os

MAX = 8 * 1024  # seeds stay small; the huge-body case is left to the fuzzer

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX:
        return
    d = os.path.join(os.environ["OUT"], target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

fixtures = [json.loads(l) for l in open(os.environ["FIXTURES"]) if l.strip()]

# open_envelope: selector 4 = platform public key + AES-128 (the reference merchant), 0x40|4 the
# same merchant configured for RSA, 3 = no public key; 0x80 = seal-and-open of a plaintext.
for fx in fixtures:
    env = fx["res_response"]
    for sel in (4, 0x44, 3):
        put("open_envelope", bytes([sel]) + env.encode())
    if fx.get("plaintext"):
        put("open_envelope", b"\x80" + fx["plaintext"].encode())

# json_scan: envelopes, plaintexts and the fixture documents themselves.
for fx in fixtures:
    put("json_scan", fx["res_response"])
    if fx.get("plaintext", "").startswith("{"):
        put("json_scan", fx["plaintext"])
    put("json_scan", json.dumps(fx["success_callback"], ensure_ascii=False))
put("json_scan", '{"a":[1,-0.5e+3,true,false,null,{"b":"\\ud83d\\ude00\\/\\n"}],"a":{}}')

# key_parse: 0 private, 1 public, 2 AES (every committed TEST key, in each form it is read in).
for path in sorted(glob.glob("keys/*/*")):
    if os.path.isdir(path):  # keys/cert/app/: the app's own key pair, not a console key
        continue
    text = open(path).read()
    name = os.path.basename(path)
    if name.startswith("private"):
        put("key_parse", b"\x00" + text.encode())
        # the one-line form the console shows
        body = "".join(l for l in text.splitlines() if not l.startswith("-----"))
        put("key_parse", b"\x00" + body.encode())
    elif name.startswith("public"):
        put("key_parse", b"\x01" + text.encode())
    elif name.startswith("aes"):
        put("key_parse", b"\x02" + text.encode())

# cert_load: 0 one certificate file alone; 1 root bundle, 2 Alipay certificate, 3 app
# certificate in place of the committed TEST set's file of that role.
cert = {
    "root": "keys/cert/alipayRootCert.crt",
    "alipay": "keys/cert/alipayCertPublicKey_RSA2.crt",
    "app": sorted(glob.glob("keys/cert/appCertPublicKey_*.crt"))[0],
}
for sel, role in ((1, "root"), (2, "alipay"), (3, "app")):
    text = open(cert[role]).read()
    put("cert_load", b"\x00" + text.encode())
    put("cert_load", bytes([sel]) + text.encode())

# scenario_file: every catalogue file.
for path in sorted(glob.glob("scenarios/*.toml")):
    put("scenario_file", open(path).read())

# contract_file: the committed contracts and the module's documented example.
for path in sorted(glob.glob("harness/contracts/*.toml")):
    put("contract_file", open(path).read())
doc = open("harness/src/contract.rs").read()
example = doc.split("//! ```toml\n", 1)[1].split("//! ```", 1)[0]
put("contract_file", "".join(l[4:] + "\n" for l in example.splitlines()))

# judge_answer: status (2 bytes), selector (outcome; 0x40 refusal allowed; 0x80 with a contract),
# encoding (0 none; 1-3 compressed by the target with gzip/deflate/br; 4-6 sent as is under
# gzip/deflate/br; 7 unknown), body.
import gzip, zlib
def answer(status, sel, body, enc=0):
    if isinstance(body, str):
        body = body.encode()
    put("judge_answer", status.to_bytes(2, "big") + bytes([sel, enc]) + body)
S = lambda code: code - 100  # the target maps the two bytes to 100 + n % 500
answer(S(200), 0, '{"mobile":"13812345678"}')
answer(S(200), 0x80, '{"mobile":"13812345678"}')
answer(S(200), 0, '{"mobile":"13812345678"}', 1)
answer(S(422), 0x81, '{"status":"no_mobile"}', 2)
answer(S(422), 0x82, '{"code":"40003","sub_code":"isv.invalid-auth-relations"}', 3)
answer(S(400), 0x42, '{"status":"rejected","error":"unsigned platform error"}')
answer(S(503), 3, '{"error":{"code":"20000"}}')
answer(S(400), 4, '{"status":"rejected","error":"bad_signature"}')
answer(S(400), 4, gzip.compress(b'{"status":"rejected"}', mtime=0), 4)
answer(S(400), 4, zlib.compress(b'{"status":"rejected"}'), 5)
answer(S(400), 4, 'plain text under an unknown encoding', 7)
answer(S(500), 4, "Traceback (most recent call last):\n  File \"app.py\"")
answer(S(400), 4, "Error: boom\n    at Object.parse (/app/server.js:12:7)")
answer(S(400), 4, "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----")
aes = open("keys/platform/aes.b64.txt").read().strip()
answer(S(200), 0, aes)
answer(S(400), 4, '{"debug":"key=' + aes.replace("/", "\\/") + '"}')
answer(S(400), 4, '<p>' + aes[:8] + '<br>' + aes[8:] + '</p>')
answer(S(400), 4, '{"echo":"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY+\\/=="}')

# server_gateway: requests separated by NUL; first byte = route (low 3 bits), 0x80 = signed as
# the demo app (see fuzz/oracles/server_gateway.rs).
def gw(*reqs):
    put("server_gateway", b"\x00".join(bytes([sel]) + body.encode() for sel, body in reqs))
common = "app_id=demo&method=alipay.system.oauth.token&format=JSON&charset=utf-8&sign_type=RSA2&timestamp=2024-05-13%2017%3A49%3A20&version=1.0"
gw((0x86, common + "&grant_type=authorization_code"))
gw((0x86, common.replace("oauth.token", "user.info.share") + "&auth_token=x"))
gw((0x80, common + "&grant_type=refresh_token&refresh_token=authusrB00"))
gw((0x80, common.replace("app_id=demo", "app_id=cert")))
gw((0x80, common.replace("oauth.token", "trade.pay")))
gw((0, common + "&sign=AAAA"), (1, common), (7, "a=%ff"), (0, ""))
gw((0x82, "grant_type=authorization_code&code=x"), (2, "code=%E4%B8%AD"))
gw((0x83, '{"grant_type":"authorization_code","code":"x"}'), (3, "ALIPAY-SHA256withRSA app_id=demo,nonce=n,timestamp=1,sign=x"))
gw((0x84, "auth_token=x"), (4, "Bearer x"))
gw((5, '{"scopes":["auth_base","auth_user"]}'), (5, '{"scopes":"auth_foo"}'), (5, '{"scopes":"auth_user","consent":false}'), (5, "{"))
gw((0x80, common.replace("oauth.token", "open.app.alipaycert.download") + "&biz_content=%7B%7D"))

# server_admin: requests separated by NUL; first byte = route (see FIXED / WITH_ID).
def admin(*reqs):
    put("server_admin", b"\x00".join(bytes([sel]) + body.encode() for sel, body in reqs))
admin((0, '{"app_id":"shop","name":"Shop","console":{"encryption":"aes-256","signing":"rsa"}}'),
      (19 + 5, 'alice\n'), (19 + 1, 'shop\n{"user_id":"u1","mobile":"13900001111"}'))
admin((1, '{"console":{"product_bound":false}}'), (10, ''))
admin((2, '{"console":{"envelope_fields":"full","unencrypted_shape":"bare"}}'), (10, ''))
admin((3, '{"user_id":"zed","authorised":true,"mobile":null}'), (19 + 5, 'zed\n'))
admin((4, '{"authorised":true,"mobile":"fresh"}'), (5, '{"mobile":""}'), (10, ''))
admin((6, '{"busy_rate":1,"busy_delivery":"plaintext"}'), (10, ''), (14, ''), (15, ''))
admin((6, '{"fail_rate":1,"fail_error":11,"fail_message":"x"}'), (11, ''))
admin((6, '{"drop_rate":1}'), (10, ''))
admin((7, '{"seed":42}'), (11, ''), (11, ''))
admin((8, '{"scope":"phoneNumber","consent":false}'), (9, '{"scope":"phoneNumber","consent":true}'), (12, ''))
admin((19 + 6, 'platform.error.40003-invalid-auth-relations\n'), (19 + 7, 'tamper.signature.bit-flip\n'))
admin((19 + 8, 'limit=5&offset=1\n'), (16, ''), (17, ''), (18, ''), (13, ''))
admin((0x40 | 0, '{"app_id":"x"}'), (0, '{"app_id":"x","bogus":1}'), (0, '{'))

# server_forward: selector (bit 0 text/plain, bit 1 already forwarded, bit 2 rebinding Host),
# then the body; MERCHANT stands for the echo merchant's 127.0.0.1:PORT.
def fwd(sel, body):
    put("server_forward", bytes([sel]) + json.dumps(body).encode())
fwd(0, {"url": "http://MERCHANT/api/phone", "body": '{"response":"x"}'})
fwd(0, {"url": "http://MERCHANT/api/phone?x=1", "body": "a=b", "content_type": "application/x-www-form-urlencoded"})
fwd(0, {"url": "http://MERCHANT/p", "body": "hello", "headers": {"x-trace": "1"}})
fwd(0, {"url": "ftp://MERCHANT/", "body": ""})
fwd(0, {"url": "http://u:p@MERCHANT/", "body": ""})
fwd(1, {"url": "http://MERCHANT/", "body": ""})
fwd(2, {"url": "http://MERCHANT/", "body": ""})
fwd(4, {"url": "http://MERCHANT/", "body": ""})
PY
for d in "$out"/*; do echo "$(basename "$d"): $(ls "$d" | wc -l) seeds"; done
