#!/usr/bin/env python3
"""produce.py <out-dir> [keys-dir]

Proves (together with `alipay-sim open` in ../run.sh): envelopes made by the official Alipay Python
SDK (PyPI `alipay-sdk-python`) from our TEST platform keys are opened by our Rust opener. For every
case in ../cases.json it writes
  <out-dir>/<name>.envelope       {"response":"<b64>","sign":"<b64>"}, no trailing newline
  <out-dir>/<name>.expected.json  what `alipay-sim open` must print for it
keys-dir defaults to ../../keys/platform (private.pkcs8.pem, aes.b64.txt).

SDK primitives used: `EncryptUtils.aes_encrypt_content(plaintext, aes_key, "utf-8")` (with the
Python 3 type adapter of sdk.py) and `SignatureUtils.sign_with_rsa2(private_key, content, "utf-8")`
over the ciphertext wrapped in double quotes. sign_with_rsa2 only loads PKCS#1 keys, so the PKCS#8
test key is re-encoded first (sdk.pkcs1_private_key_pem).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sdk import aes_encrypt_content, pkcs1_private_key_pem, sign_with_rsa2  # noqa: E402


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: produce.py <out-dir> [keys-dir]", file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    keys_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.join(HERE, "..", "..", "keys", "platform")
    with open(os.path.join(keys_dir, "private.pkcs8.pem"), encoding="ascii") as f:
        private_key = pkcs1_private_key_pem(f.read())
    with open(os.path.join(keys_dir, "aes.b64.txt"), encoding="ascii") as f:
        aes_key = f.read().strip()
    with open(os.path.join(HERE, "..", "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)

    os.makedirs(out_dir, exist_ok=True)
    for case in cases:
        ciphertext = aes_encrypt_content(case["plaintext"], aes_key, "utf-8")
        sign = sign_with_rsa2(private_key, '"' + ciphertext + '"', "utf-8")
        envelope = json.dumps({"response": ciphertext, "sign": sign}, separators=(",", ":"))
        with open(os.path.join(out_dir, case["name"] + ".envelope"), "w", encoding="ascii") as f:
            f.write(envelope)
        with open(os.path.join(out_dir, case["name"] + ".expected.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(case["expected"], ensure_ascii=False, separators=(",", ":")) + "\n")
        print("wrote %s.envelope" % case["name"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
