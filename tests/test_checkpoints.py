"""Checkpoints and signed notes against the reference implementation's published example
(golang.org/x/mod/sumdb/note), and a checkpoint's signature refused when anything changes."""

import base64

import pytest

from timebank import merkle
from timebank.checkpoints import SigningKey, key_id, verify_note

# The example key and note of the Go note package's documentation.
PRIVATE = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
NOTE = (
    TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
    "gKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def reference_key() -> SigningKey:
    seed = base64.b64decode(PRIVATE.split("+", 4)[4])[1:]  # after the algorithm byte
    return SigningKey(seed, "PeterNeumann")


def test_the_key_id_verifier_key_and_signature_of_the_reference_example() -> None:
    key = reference_key()
    assert key.verifier_key == VERIFIER
    assert key.key_id == key_id("PeterNeumann", key.public_key)
    assert key.sign_note(TEXT) == NOTE


def test_a_checkpoint_verifies_with_the_public_key_and_nothing_else() -> None:
    key = reference_key()
    root = merkle.leaf_hash(b"root")
    note = key.sign("town.test/log", 42, root)
    assert note.startswith(f"town.test/log\n42\n{base64.b64encode(root).decode()}\n\n— ")
    checkpoint = verify_note(note, "PeterNeumann", key.public_key)
    assert (checkpoint.origin, checkpoint.tree_size, checkpoint.root) == (
        "town.test/log",
        42,
        root,
    )
    other = SigningKey(bytes(32), "PeterNeumann")
    for bent, name, public_key in (
        (note.replace("\n42\n", "\n43\n"), "PeterNeumann", key.public_key),
        (note, "PeterNeumann", other.public_key),
        (note, "Someone", key.public_key),
        (other.sign("town.test/log", 42, root), "PeterNeumann", key.public_key),
    ):
        with pytest.raises(ValueError):
            verify_note(bent, name, public_key)
