"""Envelope encryption of secrets: round trip, binding to place, tampering, rotation, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomworks.core.crypto import DecryptionError, KeyRing, is_masked, mask


def test_round_trip_and_binding(tmp_path: Path) -> None:
    ring = KeyRing.from_file(tmp_path / "master.key")
    assert (tmp_path / "master.key").stat().st_mode & 0o077 == 0
    token = ring.encrypt("sk-secret-value", context="tenant-1|openai|openai_api_key")
    assert "sk-secret" not in token
    assert ring.decrypt(token, context="tenant-1|openai|openai_api_key") == "sk-secret-value"
    assert ring.encrypt("sk-secret-value", context="c") != ring.encrypt("sk-secret-value", context="c")
    with pytest.raises(DecryptionError):
        ring.decrypt(token, context="tenant-2|openai|openai_api_key")
    tampered = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    with pytest.raises(DecryptionError):
        ring.decrypt(tampered, context="tenant-1|openai|openai_api_key")
    assert KeyRing.from_file(tmp_path / "master.key").decrypt(token, context="tenant-1|openai|openai_api_key")


def test_rotation_keeps_old_values_readable(tmp_path: Path) -> None:
    old = KeyRing.from_file(tmp_path / "a.key")
    token = old.encrypt("v", context="x")
    new_key = KeyRing.from_file(tmp_path / "b.key").keys["k1"]
    ring = KeyRing(keys={"k2": new_key, "k1": old.keys["k1"]}, current="k2")
    assert ring.decrypt(token, context="x") == "v"
    assert ring.encrypt("w", context="x").split(":")[1] == "k2"
    with pytest.raises(DecryptionError):
        KeyRing(keys={"k2": new_key}, current="k2").decrypt(token, context="x")


def test_mask() -> None:
    assert mask("sk-abcdefghijklmnop") == "sk-abc************op"
    assert mask("short") == "*****"
    assert is_masked(mask("sk-abcdefghijklmnop"))
    assert not is_masked("sk-abcdefghijklmnop")
