#!/usr/bin/env python3
"""Legacy config-store JWE tokens made independently of statebox's Rust code.

Usage: OAR_JWK=<16 chars> jwe_vectors.py MODE < input > output

  jwcrypto  encrypt stdin with jwcrypto: alg dir, enc A128GCM, 12-byte IV
            (what current python-jose / jwcrypto produce)
  iv16      encrypt stdin with a 16-byte IV, as python-jose <= 3.3 did; built
            from the `cryptography` package's AESGCM since no maintained JOSE
            library still emits it
  a128kw    encrypt stdin with jwcrypto, alg A128KW (must be refused)
  a256gcm   encrypt stdin with jwcrypto, alg dir, enc A256GCM with the key
            repeated to 32 bytes (must be refused)
  decrypt   decrypt the token on stdin with jwcrypto

The key is the raw UTF-8 bytes of OAR_JWK, as the original tool used it. It is
read from the environment, never from argv, so it does not show in `ps`.

Needs: pip install jwcrypto   (pulls in `cryptography`)
"""

import base64
import json
import os
import sys

try:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from jwcrypto import jwe, jwk
except ImportError as e:  # the Rust test shows this message
    sys.exit(f"missing Python package ({e}): run `pip install jwcrypto`")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def oct_key(raw: bytes) -> jwk.JWK:
    return jwk.JWK(kty="oct", k=b64url(raw))


def jwcrypto_encrypt(raw_key: bytes, header: dict, plaintext: bytes) -> str:
    token = jwe.JWE(plaintext, protected=json.dumps(header))
    token.add_recipient(oct_key(raw_key))
    return token.serialize(compact=True)


def iv16_encrypt(raw_key: bytes, plaintext: bytes) -> str:
    header = b64url(json.dumps({"alg": "dir", "enc": "A128GCM"}).encode())
    iv = os.urandom(16)
    sealed = AESGCM(raw_key).encrypt(iv, plaintext, header.encode("ascii"))
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return ".".join([header, "", b64url(iv), b64url(ciphertext), b64url(tag)])


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    mode = sys.argv[1]
    key = os.environ["OAR_JWK"].encode("utf-8")
    data = sys.stdin.buffer.read()
    if mode == "jwcrypto":
        out = jwcrypto_encrypt(key, {"alg": "dir", "enc": "A128GCM"}, data)
    elif mode == "iv16":
        out = iv16_encrypt(key, data)
    elif mode == "a128kw":
        out = jwcrypto_encrypt(key, {"alg": "A128KW", "enc": "A128GCM"}, data)
    elif mode == "a256gcm":
        out = jwcrypto_encrypt(key * 2, {"alg": "dir", "enc": "A256GCM"}, data)
    elif mode == "decrypt":
        token = jwe.JWE()
        token.deserialize(data.decode("ascii").strip(), key=oct_key(key))
        sys.stdout.buffer.write(token.payload)
        return
    else:
        sys.exit(__doc__)
    sys.stdout.write(out)


main()
