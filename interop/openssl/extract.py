#!/usr/bin/env python3
"""extract.py <fixture.json> <work-dir>

JSON plumbing for check-fixtures.sh (python3 stdlib only, no crypto): splits one fixture into files
that the openssl CLI can consume, and writes <work-dir>/meta.sh with shell variables:
  ID, MODE (platform | tamper_sig | skip), SIGNED, ENCRYPTED (0/1), SIGN_TYPE, PRECHECK (a failure
  reason found before any crypto, or empty)
and, as needed: signed.txt (the exact signed bytes: "ciphertext" in quotes, or the raw object text),
sign.b64, ct.b64, aes.b64, pub.b64 (one line each), plaintext.txt, and payload.txt (the payload text
of an unencrypted envelope).
"""
import json
import os
import shlex
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from fixtures import envelope_text, outcome_mismatch, raw_member, sign_content  # noqa: E402


def write(work, name, text):
    with open(os.path.join(work, name), "w", encoding="utf-8", newline="") as f:
        f.write(text)


def precheck(f, env, raw_response, sign_type):
    """Checks of the fixture's own consistency; the crypto is left to openssl."""
    if "success_callback" in f and f["success_callback"].get("response") != f["res_response"]:
        return "success_callback.response differs from res_response"
    has_sign = isinstance(env.get("sign"), str)
    if bool(f.get("signed")) != has_sign:
        return "fixture signed=%s but envelope %s sign" % (f.get("signed"), "has" if has_sign else "has no")
    if f.get("signed") and raw_response is None:
        return "signed envelope without a response member"
    if f.get("signed") and "sign_type" in env and env["sign_type"] != sign_type:
        return "envelope sign_type %s differs from fixture sign_type %s" % (env["sign_type"], sign_type)
    if f.get("encrypted") and not isinstance(env.get("response"), str):
        return "encrypted fixture but response is not a string"
    if f.get("encrypted") and not f["keys"].get("aes_key"):
        return "encrypted fixture without keys.aes_key"
    if not isinstance(f.get("plaintext"), str):
        return "fixture has no plaintext"
    return outcome_mismatch(json.loads(f["plaintext"]), f["expected"]) or ""


def main():
    path, work = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as fh:
        f = json.load(fh)
    meta = {"ID": str(f.get("id")), "MODE": "skip", "SIGNED": "0", "ENCRYPTED": "0", "SIGN_TYPE": "RSA2",
            "PRECHECK": ""}
    text = envelope_text(f)
    try:
        env = json.loads(text)
    except ValueError:
        if f.get("kind") != "tamper":
            raise
        # Hostile bodies (empty, not JSON) are the harness's business, not an interop check.
        write(work, "meta.sh", "".join("%s=%s\n" % (k, shlex.quote(v)) for k, v in meta.items()))
        return
    raw_response = raw_member(text, "response")
    outcome = (f.get("expected") or {}).get("outcome")
    meta["SIGN_TYPE"] = f.get("sign_type") or env.get("sign_type") or "RSA2"
    if isinstance(env.get("sign"), str) and raw_response is not None:
        write(work, "signed.txt", sign_content(env, raw_response))
        write(work, "sign.b64", env["sign"] + "\n")
    write(work, "pub.b64", f["keys"]["alipay_public_key"].strip() + "\n")

    if f.get("kind") == "tamper" or outcome == "reject":
        if outcome == "reject" and meta["ID"].startswith("tamper.signature") and \
                os.path.exists(os.path.join(work, "sign.b64")):
            meta["MODE"] = "tamper_sig"
    else:
        meta["MODE"] = "platform"
        meta["SIGNED"] = "1" if f.get("signed") else "0"
        meta["ENCRYPTED"] = "1" if f.get("encrypted") else "0"
        meta["PRECHECK"] = precheck(f, env, raw_response, meta["SIGN_TYPE"])
        if isinstance(f.get("plaintext"), str):
            write(work, "plaintext.txt", f["plaintext"])
        if f.get("encrypted") and isinstance(env.get("response"), str) and f["keys"].get("aes_key"):
            write(work, "ct.b64", env["response"] + "\n")
            write(work, "aes.b64", f["keys"]["aes_key"].strip() + "\n")
        elif not f.get("encrypted"):
            if raw_response is None:
                payload = text  # the bare error object form: res.response is the payload itself
            elif isinstance(env.get("response"), str):
                payload = env["response"]
            else:
                payload = raw_response
            write(work, "payload.txt", payload)
    write(work, "meta.sh", "".join("%s=%s\n" % (k, shlex.quote(v)) for k, v in meta.items()))


if __name__ == "__main__":
    main()
