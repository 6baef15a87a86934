#!/usr/bin/env python3
"""check_fixtures.py <fixtures-dir>

Proves: every platform envelope that `alipay-sim fixtures` writes is accepted by the official Alipay
Python SDK (PyPI `alipay-sdk-python`, pinned in requirements.txt), using its own primitives:
  - signature: `SignatureUtils.verify_with_rsa(alipay_public_key, sign_content_bytes, sign)`, where the
    sign content is the ciphertext wrapped in double quotes (the raw object text for a plaintext-object
    payload) -- what DefaultAlipayClient verifies (it keeps the quotes) -- encoded as UTF-8;
  - decryption: `EncryptUtils.aes_decrypt_content(ciphertext, aes_key, "utf-8")` (with the Python 3
    type adapter described in sdk.py);
  - the recovered text equals the fixture's `plaintext` exactly, and agrees with `expected`.
Caveat: verify_with_rsa takes no sign type; python-rsa picks SHA-1/SHA-256 from the signature itself,
so this checker cannot prove the envelope used the advertised sign_type (the Node and openssl ones do).
Bonus: a `tamper.signature*` fixture counts as passed when the SDK's verify rejects it.
"""
import json
import os
import sys

import rsa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import (envelope_text, list_fixture_files, outcome_mismatch, raw_member,  # noqa: E402
                      read_json, sign_content)
from sdk import aes_decrypt_content, verify_with_rsa  # noqa: E402


def sdk_verifies(keys, content, sign):
    """SDK verify_with_rsa returns truthy, or raises rsa.VerificationError (ValueError on bad base64)."""
    try:
        return bool(verify_with_rsa(keys["alipay_public_key"], content.encode("utf-8"), sign))
    except (rsa.VerificationError, ValueError):
        return False


def check_platform(f):
    """Reason the platform fixture `f` is not accepted by the SDK, or None."""
    if "success_callback" in f and f["success_callback"].get("response") != f["res_response"]:
        return "success_callback.response differs from res_response"
    text = envelope_text(f)
    env = json.loads(text)
    raw_response = raw_member(text, "response")
    has_sign = isinstance(env.get("sign"), str)
    if bool(f.get("signed")) != has_sign:
        return "fixture signed=%s but envelope %s sign" % (f.get("signed"), "has" if has_sign else "has no")

    if f.get("signed"):
        if raw_response is None:
            return "signed envelope without a response member"
        sign_type = f.get("sign_type") or env.get("sign_type") or "RSA2"
        if "sign_type" in env and env["sign_type"] != sign_type:
            return "envelope sign_type %s differs from fixture sign_type %s" % (env["sign_type"], sign_type)
        if not sdk_verifies(f["keys"], sign_content(env, raw_response), env["sign"]):
            return "SDK verify_with_rsa rejected the signature"

    if f.get("encrypted"):
        if not isinstance(env.get("response"), str):
            return "encrypted fixture but response is not a string"
        if not f["keys"].get("aes_key"):
            return "encrypted fixture without keys.aes_key"
        payload = aes_decrypt_content(env["response"], f["keys"]["aes_key"], "utf-8")
    elif raw_response is None:
        payload = text  # the bare error object form: res.response is the payload itself
    elif isinstance(env.get("response"), str):
        payload = env["response"]
    else:
        payload = raw_response
    if payload != f.get("plaintext"):
        return "payload text differs from plaintext: got %s" % json.dumps(payload[:160], ensure_ascii=False)
    return outcome_mismatch(json.loads(payload), f["expected"])


def sdk_rejects_signature(f):
    """True: the SDK rejected the tampered signature; False: it did not; None: nothing to verify."""
    text = envelope_text(f)
    env = json.loads(text)
    raw_response = raw_member(text, "response")
    if not isinstance(env.get("sign"), str) or raw_response is None:
        return None
    return not sdk_verifies(f["keys"], sign_content(env, raw_response), env["sign"])


def main():
    if len(sys.argv) != 2:
        print("usage: check_fixtures.py <fixtures-dir>", file=sys.stderr)
        return 2
    passed = failed = skipped = 0
    for path in list_fixture_files(sys.argv[1]):
        try:
            f = read_json(path)
        except Exception as err:  # noqa: BLE001 -- report and go on
            failed += 1
            print("FAIL %s: unreadable fixture: %s" % (path, err))
            continue
        outcome = (f.get("expected") or {}).get("outcome")
        fid = str(f.get("id"))
        try:
            if f.get("kind") == "tamper" or outcome == "reject":
                rejects = None
                if outcome == "reject" and fid.startswith("tamper.signature"):
                    try:
                        rejects = sdk_rejects_signature(f)
                    except Exception:  # noqa: BLE001 -- unparseable envelope: not counted
                        rejects = None
                if rejects is True:
                    passed += 1
                    print("ok %s (tamper: SDK verify_with_rsa rejected it)" % fid)
                else:
                    skipped += 1
                    if rejects is False:
                        print("note %s: SDK verify_with_rsa accepted this tamper (not counted)" % fid)
                continue
            reason = check_platform(f)
        except Exception as err:  # noqa: BLE001 -- an SDK exception is a failure of this fixture
            reason = "%s: %s" % (type(err).__name__, err)
        if reason is None:
            passed += 1
            print("ok %s" % fid)
        else:
            failed += 1
            print("FAIL %s: %s" % (fid, reason))
    if passed + failed == 0:
        failed += 1
        print("FAIL %s: no platform fixture found" % sys.argv[1])
    print("# alipay-sdk-python: %d tamper fixture(s) not checked" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
