"""Secrets at rest: envelope encryption with AES-GCM.

Each secret gets its own random data key; the data key is wrapped with the master key named by a
key id (so master keys can rotate: new writes use the current key, old values still open with
theirs). The associated data binds a ciphertext to where it belongs (workspace, provider, field):
a value copied to another row does not decrypt.

Format: `lw1:<key id>:<wrapped data key>:<ciphertext>` with url-safe base64 parts.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

# `cryptography` (its Rust/OpenSSL binding: ~7 MB of a server's memory) is imported when a secret is
# first sealed or opened, not when the server starts.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "lw1"


class DecryptionError(Exception):
    """The value was not made by these keys for this place, or was altered."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class KeyRing:
    """Master keys by id; `current` encrypts, any of them decrypts."""

    keys: dict[str, bytes]
    current: str
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError("the current key id has no key")
        for kid, key in self.keys.items():
            if len(key) != 32 or ":" in kid:
                raise ValueError(f"master key {kid!r} must be 32 bytes and its id must not contain ':'")

    def _cipher(self, kid: str) -> AESGCM:
        cipher = self._ciphers.get(kid)
        if cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            cipher = self._ciphers[kid] = AESGCM(self.keys[kid])
        return cipher

    @classmethod
    def from_setting(cls, value: str) -> KeyRing:
        """`kid1:base64key1,kid2:base64key2` — the first is current."""
        keys: dict[str, bytes] = {}
        current = ""
        for item in value.split(","):
            kid, _, encoded = item.strip().partition(":")
            keys[kid] = _unb64(encoded)
            current = current or kid
        return cls(keys=keys, current=current)

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        """The key file under the data dir, created (mode 600) on first use."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(f"k1:{_b64(secrets.token_bytes(32))}\n")
        return cls.from_setting(path.read_text().strip())

    def encrypt(self, plaintext: str, *, context: str) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        data_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce, nonce = secrets.token_bytes(12), secrets.token_bytes(12)
        wrapped = self._cipher(self.current).encrypt(wrap_nonce, data_key, self.current.encode())
        sealed = AESGCM(data_key).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{PREFIX}:{self.current}:{_b64(wrap_nonce + wrapped)}:{_b64(nonce + sealed)}"

    def decrypt(self, token: str, *, context: str) -> str:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            prefix, kid, wrapped, sealed = token.split(":")
            if prefix != PREFIX or kid not in self.keys:
                raise DecryptionError("unknown key or format")
            wrapped_bytes, sealed_bytes = _unb64(wrapped), _unb64(sealed)
            data_key = self._cipher(kid).decrypt(wrapped_bytes[:12], wrapped_bytes[12:], kid.encode())
            return AESGCM(data_key).decrypt(sealed_bytes[:12], sealed_bytes[12:], context.encode()).decode()
        except (ValueError, InvalidTag) as exc:
            raise DecryptionError("the secret cannot be decrypted here") from exc

    def rotate_to(self, kid: str) -> KeyRing:
        return KeyRing(keys=self.keys, current=kid)


def mask(value: str) -> str:
    """Dify's obfuscation: the first 6 and last 2 characters around 12 stars (short values: all stars)."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:6] + "*" * 12 + value[-2:]


def is_masked(value: str) -> bool:
    return "*" * 12 in value or (bool(value) and set(value) == {"*"})
