"""The official Alipay Python SDK's primitives (PyPI `alipay-sdk-python`, pinned in requirements.txt),
made callable on Python 3.

`alipay.aop.api.util.EncryptUtils` as published on PyPI (every release up to 3.7.1411) cannot run on
Python 3: it passes the zero IV as a `str` ('\\0' * 16) to `Crypto.Cipher.AES.new`, and
`aes_encrypt_content` passes the padded plaintext as a `str` to `encrypt`; pycryptodome raises
"TypeError: Object type <class 'str'> cannot be passed to C code" for both. (The GitHub repository's
newer EncryptUtils.py converts the IV with bytes(iv, "utf8"); Alipay's own AES doc tells merchants to
do the same.) So the only change made here is a type adapter around the `AES` name that the SDK
module looks up: a `str` IV or plaintext is encoded to bytes (the IV becomes 16 zero bytes; the
plaintext, already padded by the SDK, is encoded as UTF-8, which keeps the SDK's chr(n) padding
characters as the single bytes n). Base64, key decoding, padding, unpadding and decoding all remain
the SDK's own code; AES itself is pycryptodome's, exactly as in the SDK.

The gateway client (`DefaultAlipayClient`, used for the login's `alipay.system.oauth.token`) has a
second Python 3 bug: `WebUtils.get_http_connection` connects to port 80 (443 for https) whatever
`server_url` says, and for a URL with a port it runs `url += url_parse_result.port` (str + int:
"TypeError: can only concatenate str (not "int") to str"). So a `server_url` such as
`http://127.0.0.1:8780/gateway.do` cannot work as published. `get_http_connection` below is the
SDK's function with the two lines fixed (the URL's port is used, and written as text); every other
step of the request (parameters, signing, form encoding, the answer's cut and verification) stays
the SDK's own.
"""
from Crypto.Cipher import AES as _AES
from Crypto.PublicKey import RSA as _RSA

from alipay.aop.api.util import EncryptUtils, SignatureUtils, WebUtils


class _Py3Cipher:
    def __init__(self, cipher):
        self._cipher = cipher

    def encrypt(self, data):
        return self._cipher.encrypt(data.encode("utf-8") if isinstance(data, str) else data)

    def decrypt(self, data):
        return self._cipher.decrypt(data)


class _Py3AES:
    block_size = _AES.block_size
    MODE_CBC = _AES.MODE_CBC

    @staticmethod
    def new(key, mode, iv):
        return _Py3Cipher(_AES.new(key, mode, iv.encode("latin-1") if isinstance(iv, str) else iv))


EncryptUtils.AES = _Py3AES


def _get_http_connection(url, query_string, timeout):
    """WebUtils.get_http_connection with the URL's port honoured (see the module docstring)."""
    parsed = WebUtils.urlparse.urlparse(url)
    https = url.find("https") == 0
    port = parsed.port or (443 if https else 80)
    connection_class = WebUtils.httplib.HTTPSConnection if https else WebUtils.httplib.HTTPConnection
    connection = connection_class(host=parsed.hostname, port=port, timeout=timeout)
    url = parsed.scheme + "://" + parsed.hostname
    if parsed.port:
        url += ":" + str(parsed.port)
    url += parsed.path
    url += "?" + query_string
    return url, connection


WebUtils.get_http_connection = _get_http_connection

# The SDK functions the checkers and producer use, by their SDK names.
aes_decrypt_content = EncryptUtils.aes_decrypt_content  # (ciphertext_b64, aes_key_b64, charset) -> str
aes_encrypt_content = EncryptUtils.aes_encrypt_content  # (plaintext, aes_key_b64, charset) -> b64 str
verify_with_rsa = SignatureUtils.verify_with_rsa  # (public_key_b64, message_bytes, sign_b64) -> bool
sign_with_rsa2 = SignatureUtils.sign_with_rsa2  # (pkcs1_private_key, content, charset) -> b64 str


def pkcs1_private_key_pem(pkcs8_pem):
    """sign_with_rsa2 loads the key with rsa.PrivateKey.load_pkcs1 (PEM 'RSA PRIVATE KEY' only), so a
    PKCS#8 key is re-encoded as PKCS#1 first (a format conversion, done with pycryptodome)."""
    return _RSA.import_key(pkcs8_pem).export_key(format="PEM", pkcs=1).decode("ascii")
