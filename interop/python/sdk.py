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
"""
from Crypto.Cipher import AES as _AES
from Crypto.PublicKey import RSA as _RSA

from alipay.aop.api.util import EncryptUtils, SignatureUtils


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

# The SDK functions the checkers and producer use, by their SDK names.
aes_decrypt_content = EncryptUtils.aes_decrypt_content  # (ciphertext_b64, aes_key_b64, charset) -> str
aes_encrypt_content = EncryptUtils.aes_encrypt_content  # (plaintext, aes_key_b64, charset) -> b64 str
verify_with_rsa = SignatureUtils.verify_with_rsa  # (public_key_b64, message_bytes, sign_b64) -> bool
sign_with_rsa2 = SignatureUtils.sign_with_rsa2  # (pkcs1_private_key, content, charset) -> b64 str


def pkcs1_private_key_pem(pkcs8_pem):
    """sign_with_rsa2 loads the key with rsa.PrivateKey.load_pkcs1 (PEM 'RSA PRIVATE KEY' only), so a
    PKCS#8 key is re-encoded as PKCS#1 first (a format conversion, done with pycryptodome)."""
    return _RSA.import_key(pkcs8_pem).export_key(format="PEM", pkcs=1).decode("ascii")
