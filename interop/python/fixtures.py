"""Helpers shared by the Python and openssl interop checkers (stdlib only, no crypto): reading
alipay-sim fixture files, finding the raw text of the envelope's `response` member, and checking a
decrypted payload against `expected`."""
import json
import os

_WS = " \t\n\r"


def list_fixture_files(directory):
    """Every `<id>.json` fixture in `directory` (manifest.json excepted), sorted by file name."""
    names = sorted(n for n in os.listdir(directory) if n.endswith(".json") and n != "manifest.json")
    return [os.path.join(directory, n) for n in names]


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _skip_ws(text, i):
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _end_of_string(text, i):
    i += 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    raise ValueError("unterminated string")


def _end_of_value(text, i):
    c = text[i]
    if c == '"':
        return _end_of_string(text, i)
    if c in "{[":
        depth = 0
        while i < len(text):
            ch = text[i]
            if ch == '"':
                i = _end_of_string(text, i)
                continue
            if ch in "{[":
                depth += 1
            elif ch in "}]":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise ValueError("unterminated object/array")
    while i < len(text) and text[i] not in ",}] \t\n\r":
        i += 1
    return i


def raw_member(text, name):
    """The raw text of top-level member `name` of the JSON object `text`, exactly as it appears (for a
    string value: including its quotes), or None when the object has no such member. This is how a
    merchant obtains the signed bytes of a plaintext-object payload (docs/protocol.md#what-is-signed, #substring-not-re-serialisation)."""
    i = _skip_ws(text, 0)
    if i >= len(text) or text[i] != "{":
        return None
    i = _skip_ws(text, i + 1)
    if text[i] == "}":
        return None
    while True:
        key_end = _end_of_string(text, i)
        key = json.loads(text[i:key_end])
        i = _skip_ws(text, key_end)
        if text[i] != ":":
            raise ValueError("expected ':' at %d" % i)
        start = _skip_ws(text, i + 1)
        end = _end_of_value(text, start)
        if key == name:
            return text[start:end]
        i = _skip_ws(text, end)
        if text[i] == "}":
            return None
        if text[i] != ",":
            raise ValueError("expected ',' at %d" % i)
        i = _skip_ws(text, i + 1)


def envelope_text(fixture):
    """res.response as text (a non-string res_response, the getRunData-style Object, compacted)."""
    rr = fixture["res_response"]
    if isinstance(rr, str):
        return rr
    return json.dumps(rr, ensure_ascii=False, separators=(",", ":"))


def sign_content(env, raw_response):
    """Alipay's rule: ciphertext wrapped in double quotes, or the raw object text."""
    if isinstance(env.get("response"), str):
        return '"' + env["response"] + '"'
    return raw_response


def outcome_mismatch(payload, expected):
    """Why the payload JSON `payload` contradicts `expected`, or None when it agrees."""
    code = payload.get("code")
    outcome = expected.get("outcome")
    if outcome in ("accept", "no_mobile") and code != "10000":
        return "expected code 10000, payload has %s" % code
    if outcome == "accept":
        if payload.get("mobile") != expected.get("mobile"):
            return "expected mobile %s, payload has %s" % (expected.get("mobile"), payload.get("mobile"))
        return None
    if outcome == "no_mobile":
        if payload.get("mobile"):
            return "expected no mobile, payload has %s" % payload.get("mobile")
        return None
    if "code" in expected and code != expected["code"]:
        return "expected code %s, payload has %s" % (expected["code"], code)
    if "sub_code" in expected and payload.get("subCode") != expected["sub_code"]:
        return "expected subCode %s, payload has %s" % (expected["sub_code"], payload.get("subCode"))
    return None
