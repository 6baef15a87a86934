#!/usr/bin/env python3
"""make_fixtures.py <out-dir> good|broken [keys-root]

Writes hand-made fixtures in the `alipay-sim fixtures` format, built with the openssl CLI only (no
Rust, no SDK), from the TEST keys under keys-root (default ../../keys). They let the three checkers
be tested on their own:
  good   -- platform scenarios covering every envelope variant the checkers must handle (RSA2/RSA,
            16/24/32-byte AES keys, unsigned, extra fields, plaintext object payloads, block-aligned
            plaintext) and a few tamper fixtures; every checker must pass all of them.
  broken -- platform fixtures that lie (wrong plaintext, bad or misplaced signature, wrong key);
            every checker must FAIL each one, except where ../selftest.sh documents an SDK quirk.
"""
import base64
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CIPHERS = {16: "aes-128-cbc", 24: "aes-192-cbc", 32: "aes-256-cbc"}
DIGESTS = {"RSA2": "-sha256", "RSA": "-sha1"}


def run(args, data=b""):
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout


def aes_encrypt(plaintext, key_b64):
    key = base64.b64decode(key_b64)
    ct = run(["openssl", "enc", "-e", "-" + CIPHERS[len(key)], "-K", key.hex(), "-iv", "0" * 32, "-nosalt"],
             plaintext.encode("utf-8"))
    return base64.b64encode(ct).decode("ascii")


def rsa_sign(content, private_pem, sign_type):
    sig = run(["openssl", "dgst", DIGESTS[sign_type], "-sign", private_pem], content.encode("utf-8"))
    return base64.b64encode(sig).decode("ascii")


def flip_bit(b64):
    raw = bytearray(base64.b64decode(b64))
    raw[len(raw) // 2] ^= 0x01
    return base64.b64encode(bytes(raw)).decode("ascii")


def compact(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class Maker:
    def __init__(self, keys_root, out_dir):
        self.out_dir = out_dir
        self.keys_root = keys_root
        self.ids = []
        read = lambda *p: open(os.path.join(keys_root, *p), encoding="ascii").read().strip()  # noqa: E731
        self.aes = {"platform": read("platform", "aes.b64.txt"), "attacker": read("attacker", "aes.b64.txt")}
        self.pub = {"platform": read("platform", "public.b64.txt"), "attacker": read("attacker", "public.b64.txt")}
        self.aes[24] = base64.b64encode(os.urandom(24)).decode()
        self.aes[32] = base64.b64encode(os.urandom(32)).decode()

    def priv(self, who):
        return os.path.join(self.keys_root, who, "private.pkcs8.pem")

    def write(self, fid, kind, res_response, plaintext, encrypted, signed, sign_type, expected,
              aes_key, public_key):
        fixture = {
            "id": fid, "title": fid, "kind": kind,
            "res_response": res_response, "success_callback": {"response": res_response},
            "plaintext": plaintext, "encrypted": encrypted, "signed": signed, "sign_type": sign_type,
            "expected": expected, "keys": {"aes_key": aes_key, "alipay_public_key": public_key},
        }
        with open(os.path.join(self.out_dir, fid + ".json"), "w", encoding="utf-8") as f:
            json.dump(fixture, f, ensure_ascii=False, indent=2)
        self.ids.append(fid)

    def encrypted(self, fid, plaintext, expected, sign_type="RSA2", aes="platform", signer="platform",
                  extra=None, kind="platform", sign_content=None, sig_edit=None, merchant_aes=None,
                  label=None):
        """An encrypted envelope; sign_type None = unsigned. The other knobs make tampers."""
        ct = aes_encrypt(plaintext, self.aes[aes])
        env = {"response": ct}
        if sign_type:
            content = sign_content(ct) if sign_content else '"' + ct + '"'
            sig = rsa_sign(content, self.priv(signer), sign_type)
            env["sign"] = sig_edit(sig) if sig_edit else sig
        env.update(extra or {})
        self.write(fid, kind, compact(env), plaintext, True, sign_type is not None,
                   label or sign_type, expected, self.aes[merchant_aes or aes], self.pub["platform"])

    def plain_object(self, fid, plaintext, expected, sign_type=None):
        """`{"response":{...}}` with the payload object embedded verbatim; signed over its raw text."""
        text = '{"response":' + plaintext
        if sign_type:
            text += ',"sign":' + json.dumps(rsa_sign(plaintext, self.priv("platform"), sign_type))
        text += "}"
        self.write(fid, "platform", text, plaintext, False, sign_type is not None, sign_type, expected,
                   None, self.pub["platform"])

    def manifest(self):
        with open(os.path.join(self.out_dir, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump({"scenarios": self.ids}, f, indent=2)


SUCCESS = '{"code":"10000","msg":"Success","mobile":"13800000000"}'
OVERSEAS = '{"code":"10000","msg":"Success","mobile":"1-1234432112"}'
EMPTY = '{"code":"10000","msg":"Success","mobile":""}'
E40003 = ('{"code":"40003","msg":"Insufficient Conditions","subCode":"isv.invalid-auth-relations",'
          '"subMsg":"无效的授权关系"}')
E40006 = ('{"code":"40006","msg":"Insufficient Permissions","subCode":"isv.insufficient-isv-permissions",'
          '"subMsg":"ISV权限不足，建议在开发者中心检查对应功能是否已经添加，解决办法详见：'
          'https:\\/\\/docs.open.alipay.com\\/common\\/isverror"}')
E40001 = ('{"code":"40001","msg":"Missing Required Arguments","subCode":"isv.missing-encrypt-key",'
          '"subMsg":"缺少加密配置"}')
E20000 = '{"code":"20000","msg":"Service Currently Unavailable","subCode":"aop.unknow-error","subMsg":"系统繁忙"}'
ACCEPT = {"outcome": "accept", "mobile": "13800000000"}
REJECT = {"outcome": "reject"}


def good(m):
    m.encrypted("platform.success.mainland", SUCCESS, ACCEPT)
    m.encrypted("platform.success.overseas.extra_fields", OVERSEAS, {"outcome": "accept", "mobile": "1-1234432112"},
                extra={"sign_type": "RSA2", "encrypt_type": "AES", "charset": "UTF-8"})
    m.encrypted("platform.success.rsa1", SUCCESS, ACCEPT, sign_type="RSA")
    m.encrypted("platform.success.aes192", SUCCESS, ACCEPT, aes=24)
    m.encrypted("platform.success.aes256", SUCCESS, ACCEPT, aes=32)
    m.encrypted("platform.no_mobile.unsigned", EMPTY, {"outcome": "no_mobile"}, sign_type=None)
    m.encrypted("platform.error.40003", E40003,
                {"outcome": "platform_error", "code": "40003", "sub_code": "isv.invalid-auth-relations"})
    m.encrypted("platform.error.40006.block_aligned", E40006,
                {"outcome": "platform_error", "code": "40006", "sub_code": "isv.insufficient-isv-permissions"})
    m.encrypted("platform.retry_later.20000", E20000, {"outcome": "retry_later", "code": "20000"})
    m.plain_object("platform.error.40001.plain_object", E40001,
                   {"outcome": "platform_error", "code": "40001", "sub_code": "isv.missing-encrypt-key"})
    m.plain_object("platform.error.40006.plain_object_signed", E40006,
                   {"outcome": "platform_error", "code": "40006", "sub_code": "isv.insufficient-isv-permissions"},
                   sign_type="RSA2")
    m.encrypted("tamper.signature.bit_flip", SUCCESS, REJECT, kind="tamper", sig_edit=flip_bit)
    m.encrypted("tamper.signature.attacker_key", SUCCESS, REJECT, kind="tamper", signer="attacker")
    m.encrypted("tamper.signature.unquoted", SUCCESS, REJECT, kind="tamper", sign_content=lambda ct: ct)
    m.encrypted("tamper.signature.rsa1_labelled_rsa2", SUCCESS, REJECT, kind="tamper", sign_type="RSA",
                label="RSA2")
    m.encrypted("tamper.aes.attacker_key", SUCCESS, REJECT, kind="tamper", aes="attacker", merchant_aes="platform")


def broken(m):
    m.write("platform.broken.plaintext_mismatch", "platform",
            compact({"response": aes_encrypt(SUCCESS.replace(",", ", "), m.aes["platform"])}), SUCCESS, True,
            False, None,
            ACCEPT, m.aes["platform"], m.pub["platform"])
    m.encrypted("platform.broken.bit_flipped_sign", SUCCESS, ACCEPT, sig_edit=flip_bit)
    m.encrypted("platform.broken.attacker_sign", SUCCESS, ACCEPT, signer="attacker")
    m.encrypted("platform.broken.unquoted_sign", SUCCESS, ACCEPT, sign_content=lambda ct: ct)
    m.encrypted("platform.broken.rsa1_labelled_rsa2", SUCCESS, ACCEPT, sign_type="RSA", label="RSA2")
    m.encrypted("platform.broken.wrong_aes_key", SUCCESS, ACCEPT, aes="attacker", merchant_aes="platform")
    m.encrypted("platform.broken.expected_mismatch", SUCCESS, {"outcome": "accept", "mobile": "13900000000"})


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[2] not in ("good", "broken"):
        print(__doc__, file=sys.stderr)
        return 2
    out_dir, which = sys.argv[1], sys.argv[2]
    keys_root = sys.argv[3] if len(sys.argv) == 4 else os.path.join(HERE, "..", "..", "keys")
    os.makedirs(out_dir, exist_ok=True)
    m = Maker(keys_root, out_dir)
    (good if which == "good" else broken)(m)
    m.manifest()
    return 0


if __name__ == "__main__":
    sys.exit(main())
