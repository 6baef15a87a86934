#!/usr/bin/env python3
"""merchant.py: a my.getPhoneNumber decryption endpoint written the way a Python developer writes one
with the official Alipay Python SDK (PyPI `alipay-sdk-python`, pinned in requirements.txt) and the
standard library's http.server.

    python merchant.py [--port 8783] [--keys DIR]

The mini-program posts `res.response` as it is (`my.request({ data: res.response })`). This endpoint
answers exactly like the harness's reference merchant, so both share harness/contracts/reference.toml:
    200 {"status":"ok","mobile":"..."}                       the user's number
    422 {"status":"no_mobile"}                                code 10000 with an empty or absent mobile
    422 {"status":"platform_error","code","sub_code","sub_msg"}   any other platform code
    503 {"status":"retry_later","code":"20000"} + Retry-After: 1  the platform was busy
    400 {"status":"rejected","error":"<kind>"}                anything we cannot trust or read
    413 {"status":"rejected","error":"body_too_large"}        bodies over 64 KiB

Keys: ALIPAY_PUBLIC_KEY (支付宝公钥, base64 SPKI) and ALIPAY_AES_KEY (接口内容加密 AES key, base64) from
the environment; `--keys DIR` (default: the repository's TEST keys) reads DIR/platform/public.b64.txt
and DIR/platform/aes.b64.txt instead and takes precedence. The first line on stdout is
`listening on http://127.0.0.1:PORT` (`--port 0` picks a free port).

POST /login is the mini-program login (contract in interop/README.md, "The login"): the body
{"authCode": my.getAuthCode's authCode, "response": my.getPhoneNumber's res.response}. The code is
exchanged through the SDK's DefaultAlipayClient (AlipayClientConfig.server_url = ALIPAY_GATEWAY,
app_id = ALIPAY_APP_ID, app_private_key = ALIPAY_APP_PRIVATE_KEY converted to PKCS#1, the SDK's only
format; `execute` verifies the answer with the Alipay public key), then the envelope is opened as
above. Answers 200 {"status":"ok","user_id","open_id","mobile"}; 401 {"status":"rejected",
"error":"auth_code","code","sub_code"} or {"status":"rejected","error":"gateway_signature"}; 503
retry_later for 20000; 502 {"status":"error","error":"gateway_unavailable"}; 400 for a malformed
request; the envelope's own answer when the code was good but the envelope is not; 404
login_not_configured without ALIPAY_GATEWAY.

The SDK functions are imported from sdk.py, which is the SDK's own EncryptUtils and SignatureUtils
with the Python 3 fixes every user of the published SDK has to make (see sdk.py).
"""
import argparse
import base64
import binascii
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rsa  # noqa: E402  (python-rsa, what the SDK verifies with)
from sdk import aes_decrypt_content, pkcs1_private_key_pem, verify_with_rsa  # noqa: E402

from alipay.aop.api.AlipayClientConfig import AlipayClientConfig  # noqa: E402
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient  # noqa: E402
from alipay.aop.api.exception.Exception import RequestException, ResponseException  # noqa: E402
from alipay.aop.api.request.AlipaySystemOauthTokenRequest import AlipaySystemOauthTokenRequest  # noqa: E402
from alipay.aop.api.response.AlipaySystemOauthTokenResponse import AlipaySystemOauthTokenResponse  # noqa: E402

MAX_BODY = 64 * 1024
# After a 413 the rest of a declared body up to this size is read and thrown away, so that the
# client gets to read the answer instead of a connection reset.
MAX_DISCARD = 16 * 1024 * 1024


class Rejected(Exception):
    """A client error: answered 400 {"status":"rejected","error": kind}."""

    def __init__(self, kind, status=400):
        super().__init__(kind)
        self.kind = kind
        self.status = status


def answer_for(payload):
    """(status, body, headers) for a payload {code, msg, mobile} or {code, msg, subCode, subMsg}."""
    if not isinstance(payload, dict) or not isinstance(payload.get("code"), str):
        raise Rejected("bad_plaintext")
    code = payload["code"]
    if code == "10000":
        mobile = payload.get("mobile")
        if mobile is None or mobile == "":
            return 422, {"status": "no_mobile"}, {}
        if not isinstance(mobile, str):
            raise Rejected("bad_plaintext")
        return 200, {"status": "ok", "mobile": mobile}, {}
    if code == "20000":
        return 503, {"status": "retry_later", "code": "20000"}, {"Retry-After": "1"}
    sub_code = payload.get("subCode")
    sub_msg = payload.get("subMsg")
    return 422, {
        "status": "platform_error",
        "code": code,
        "sub_code": sub_code if isinstance(sub_code, str) else "",
        "sub_msg": sub_msg if isinstance(sub_msg, str) else "",
    }, {}


def unsigned_error(payload):
    """An unencrypted, unsigned payload may only report a platform error (anyone can write one)."""
    if isinstance(payload, dict) and isinstance(payload.get("code"), str) and payload["code"] != "10000":
        return answer_for(payload)
    raise Rejected("missing_sign")


class Merchant:
    """The decryption logic, configured with the 支付宝公钥 and the AES key."""

    def __init__(self, alipay_public_key, aes_key, gateway_client=None):
        self.alipay_public_key = alipay_public_key
        self.aes_key = aes_key
        self.gateway_client = gateway_client  # a DefaultAlipayClient, or None: no login

    def login(self, body):
        """(status, body, headers) for POST /login {"authCode", "response"}: the code is spent
        first, then the envelope is opened; 200 only when both succeed."""
        if self.gateway_client is None:
            return 404, {"status": "rejected", "error": "login_not_configured"}, {}
        try:
            req = json.loads(body)
        except ValueError:
            raise Rejected("bad_request") from None
        if not isinstance(req, dict) or not isinstance(req.get("authCode"), str) or not req["authCode"] \
                or not isinstance(req.get("response"), str):
            raise Rejected("bad_request")
        request = AlipaySystemOauthTokenRequest()
        request.grant_type = "authorization_code"
        request.code = req["authCode"]
        token = AlipaySystemOauthTokenResponse()
        try:
            # execute() signs the request and verifies the answer's sign (error answers too).
            token.parse_response_content(self.gateway_client.execute(request))
        except ResponseException as err:
            if "sign verify failed" in str(err):
                return 401, {"status": "rejected", "error": "gateway_signature"}, {}
            return 502, {"status": "error", "error": "gateway_unavailable"}, {}
        except (RequestException, OSError, ValueError, TypeError):
            # TypeError: the SDK's do_post builds its HTTP error text as str + bytes.
            return 502, {"status": "error", "error": "gateway_unavailable"}, {}
        if not token.is_success() or (token.code is not None and token.code != "10000"):
            if token.code == "20000":
                return 503, {"status": "retry_later", "code": "20000"}, {"Retry-After": "1"}
            return 401, {"status": "rejected", "error": "auth_code", "code": token.code or "",
                         "sub_code": token.sub_code or ""}, {}
        user_id = token.user_id if isinstance(token.user_id, str) and token.user_id else None
        open_id = token.open_id if isinstance(token.open_id, str) and token.open_id else None
        if user_id is None and open_id is None:
            return 502, {"status": "error", "error": "gateway_unavailable"}, {}
        status, answer, headers = self.handle(req["response"])
        if status != 200:
            return status, answer, headers
        return 200, {"status": "ok", "user_id": user_id, "open_id": open_id, "mobile": answer["mobile"]}, {}

    def handle(self, body):
        """(status, body, headers) for the envelope text `body` (the raw `res.response` string)."""
        try:
            envelope = json.loads(body)
        except ValueError:
            raise Rejected("malformed") from None
        if not isinstance(envelope, dict):
            raise Rejected("malformed")

        response = envelope.get("response")
        sign = envelope.get("sign")
        if "response" not in envelope:
            # The bare 40001 form: res.response is the error object itself.
            if isinstance(envelope.get("code"), str):
                return unsigned_error(envelope)
            raise Rejected("missing_response")
        encrypted = isinstance(response, str)
        if not encrypted and not isinstance(response, dict):
            raise Rejected("wrong_type")
        if "sign" in envelope and not isinstance(sign, str):
            raise Rejected("wrong_type")

        # An Alipay public key is configured, so a missing sign is refused; only an unencrypted
        # error object comes unsigned from Alipay (加密异常: 40001 / 40002 / 20000).
        if sign is None:
            if encrypted:
                raise Rejected("missing_sign")
            return unsigned_error(response)

        # Alipay signs the ciphertext with its double quotes. For an object payload it signs the raw
        # object text; json.loads has thrown that away, so it is re-serialised here the way the
        # official samples do it (compact, keys in order, UTF-8 kept). That only matches when
        # Alipay's text has no escape json.dumps writes differently: Alipay writes '/' as '\/', so a
        # signed plaintext error with a URL in subMsg fails verification here and is rejected
        # (harness case tamper.payload.signed-plaintext-error).
        if encrypted:
            sign_content = '"' + response + '"'
        else:
            sign_content = json.dumps(response, ensure_ascii=False, separators=(",", ":"))
        # verify_with_rsa takes no sign type: python-rsa reads the hash from the signature itself.
        # It raises rsa.VerificationError on a bad signature and binascii.Error on bad base64.
        try:
            verified = verify_with_rsa(self.alipay_public_key, sign_content.encode("utf-8"), sign)
        except Exception:  # noqa: BLE001 -- any failure to verify is a refusal
            verified = False
        if not verified:
            raise Rejected("bad_signature")

        if not encrypted:
            return answer_for(response)
        try:
            plain_text = aes_decrypt_content(response, self.aes_key, "utf-8")
        except Exception:  # noqa: BLE001 -- bad base64, length, UTF-8: the ciphertext is unusable
            raise Rejected("bad_ciphertext") from None
        # A wrong key often comes back as "" rather than an error (the SDK does not check padding).
        if not plain_text:
            raise Rejected("bad_ciphertext")
        try:
            payload = json.loads(plain_text)
        except ValueError:
            raise Rejected("bad_plaintext") from None
        return answer_for(payload)


class Handler(BaseHTTPRequestHandler):
    """POST any path with the envelope as the raw body (whatever the Content-Type)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall
    timeout = 10  # seconds per socket read: a silent client cannot hold a thread forever
    merchant = None  # set by main()

    def send_json(self, status, body, headers=None, close=False):
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        self.log_message("%s -> %d %s", self.headers.get("X-Alipay-Harness-Case", ""), status,
                         body.get("error") or body.get("status"))

    def refuse_method(self):
        self.send_json(405, {"status": "rejected", "error": "method_not_allowed"}, {"Allow": "POST"}, close=True)

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = refuse_method

    def read_body(self):
        """The raw body bytes; raises Rejected for a missing, unreadable or oversized body."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise Rejected("length_required", 411)
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise Rejected("malformed") from None
        if length < 0:
            raise Rejected("malformed")
        if length > MAX_BODY:
            if length <= MAX_DISCARD:
                self.discard(length)
            raise Rejected("body_too_large", 413)
        return self.rfile.read(length)

    def discard(self, length):
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                break
            length -= len(chunk)

    def do_POST(self):
        body = None
        try:
            body = self.read_body()
            text = body.decode("utf-8")
            if self.path == "/login":
                status, answer, headers = self.merchant.login(text)
            else:
                status, answer, headers = self.merchant.handle(text)
            self.send_json(status, answer, headers)
        except Rejected as err:
            # A body refused before it was read cannot be skipped: close instead of reusing the connection.
            self.send_json(err.status, {"status": "rejected", "error": err.kind}, close=body is None)
        except UnicodeDecodeError:
            self.send_json(400, {"status": "rejected", "error": "malformed"})
        except OSError:
            self.close_connection = True  # the client went away or timed out: nothing to answer
        except Exception as err:  # noqa: BLE001 -- never a 5xx, never the exception text
            sys.stderr.write("unexpected %s for %s\n" % (type(err).__name__, self.path))
            self.send_json(400, {"status": "rejected", "error": "bad_request"}, close=True)

    def log_request(self, code="-", size="-"):
        pass  # send_json logs one line per answer, with the case id

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, fmt % args))


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with a listen backlog for bursts: socketserver's default of 5 makes the
    kernel drop the SYNs of a burst of connections, and each dropped client waits 1 s to retry."""

    daemon_threads = True
    request_queue_size = 128


def read_key_file(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError as err:
        print("merchant.py: cannot read the %s from %s: %s" % (what, path, err.strerror), file=sys.stderr)
        sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description="my.getPhoneNumber decryption endpoint on the official Alipay Python SDK")
    parser.add_argument("--port", type=int, default=8783, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--keys", help="key directory laid out like the repository's keys/ (DIR/platform/...)")
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error("--port must be from 0 to 65535, got %d" % args.port)

    env_public, env_aes = os.environ.get("ALIPAY_PUBLIC_KEY"), os.environ.get("ALIPAY_AES_KEY")
    if args.keys is None and env_public and env_aes:
        public_key, aes_key = env_public.strip(), env_aes.strip()
    else:
        keys = args.keys or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "keys")
        public_key = read_key_file(os.path.join(keys, "platform", "public.b64.txt"), "Alipay public key")
        aes_key = read_key_file(os.path.join(keys, "platform", "aes.b64.txt"), "AES key")

    # The SDK does not look at the keys until the first request: check them now, so that a bad key
    # is one clear start-up error rather than every envelope refused.
    try:
        rsa.PublicKey.load_pkcs1_openssl_der(base64.b64decode(public_key, validate=True))
    except Exception:  # noqa: BLE001 -- any decoding error means the same thing
        parser.error("the Alipay public key is not a base64 X.509 SubjectPublicKeyInfo (支付宝公钥)")
    try:
        aes_ok = len(base64.b64decode(aes_key, validate=True)) in (16, 24, 32)
    except binascii.Error:
        aes_ok = False
    if not aes_ok:
        parser.error("the AES key is not the base64 of 16, 24 or 32 bytes")

    # The login (POST /login): the gateway, the app id and the app private key, from the environment.
    gateway_client = None
    gateway = os.environ.get("ALIPAY_GATEWAY")
    if gateway:
        app_id, app_key = os.environ.get("ALIPAY_APP_ID"), os.environ.get("ALIPAY_APP_PRIVATE_KEY")
        if not app_id or not app_key:
            parser.error("the login (ALIPAY_GATEWAY) needs ALIPAY_APP_ID and ALIPAY_APP_PRIVATE_KEY too")
        config = AlipayClientConfig()
        config.server_url = gateway
        config.app_id = app_id
        try:
            # sign_with_rsa2 loads PKCS#1 only; the console's key is PKCS#8.
            config.app_private_key = pkcs1_private_key_pem(app_key)
        except (ValueError, IndexError, TypeError):
            parser.error("ALIPAY_APP_PRIVATE_KEY is not an RSA private key (PEM)")
        config.alipay_public_key = public_key
        gateway_client = DefaultAlipayClient(alipay_client_config=config)

    Handler.merchant = Merchant(public_key, aes_key, gateway_client)
    try:
        server = Server(("127.0.0.1", args.port), Handler)
    except OSError as err:
        print("merchant.py: cannot listen on 127.0.0.1:%d: %s" % (args.port, err.strerror), file=sys.stderr)
        return 1
    print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
