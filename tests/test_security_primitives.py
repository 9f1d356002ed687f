"""Secrets at rest, tokens and password hashing."""

import pytest

from atende.core.security import (
    SecretBox,
    constant_time_equals,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)


def test_secret_box_round_trip_and_ciphertext_hides_plaintext() -> None:
    box = SecretBox(["key-one"])
    sealed = box.encrypt("sk-live-123")
    assert "sk-live-123" not in sealed
    assert box.decrypt(sealed) == "sk-live-123"
    assert box.encrypt("sk-live-123") != sealed  # random IV each time


def test_secret_box_rotation_reads_old_and_writes_new() -> None:
    old = SecretBox(["key-one"])
    sealed_with_old = old.encrypt("secret")
    rotated = SecretBox(["key-two", "key-one"])
    assert rotated.decrypt(sealed_with_old) == "secret"
    with pytest.raises(ValueError, match="cannot be decrypted"):
        old.decrypt(rotated.encrypt("secret"))


def test_secret_box_rejects_tampering_and_no_keys() -> None:
    box = SecretBox(["key-one"])
    sealed = box.encrypt("secret")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(ValueError, match="cannot be decrypted"):
        box.decrypt(tampered)
    with pytest.raises(ValueError, match="at least one"):
        SecretBox([])


def test_tokens_are_random_and_hashes_stable() -> None:
    a, b = new_token("atk_"), new_token("atk_")
    assert a != b
    assert a.startswith("atk_")
    assert token_hash(a) == token_hash(a)
    assert token_hash(a) != token_hash(b)
    assert constant_time_equals(a, a)
    assert not constant_time_equals(a, b)


async def test_passwords_hash_with_argon2_and_verify() -> None:
    hashed = await hash_password("correct horse")
    assert hashed.startswith("$argon2")
    assert await verify_password(hashed, "correct horse")
    assert not await verify_password(hashed, "wrong horse")
    assert not await verify_password(None, "anything")
    assert not await verify_password("not-a-hash", "anything")
