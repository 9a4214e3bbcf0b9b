"""Signed checkpoints of the log: C2SP tlog-checkpoint bodies in C2SP signed notes, Ed25519.

A checkpoint's body is `origin\\nsize\\nbase64(root)\\n`; the note is the body, an empty line
and one signature line `— <key name> base64(key id || signature)`, where the key id is the
first four bytes of SHA-256(key name || 0x0A || 0x01 || public key) and the signature is over
the body. The key name is the log's origin. The public key is published as a C2SP verifier
key, `<name>+<key id hex>+base64(0x01 || public key)`."""

import base64
import binascii
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from timebank.keyfiles import SecretFileError, generated, read_secret, write_secret
from timebank.settings import Settings

# Reading and verifying notes and verifier keys lives in the file a verifier copies.
from timebank.verifier import ED25519_ALGORITHM as ED25519_ALGORITHM
from timebank.verifier import ROOT_BYTES as ROOT_BYTES
from timebank.verifier import SIGNATURE_DASH as SIGNATURE_DASH
from timebank.verifier import Checkpoint as Checkpoint
from timebank.verifier import key_id as key_id
from timebank.verifier import parse_body as parse_body
from timebank.verifier import parse_verifier_key as parse_verifier_key
from timebank.verifier import verify_note as verify_note

SEED_BYTES = 32


def checkpoint_body(origin: str, tree_size: int, root: bytes) -> str:
    return f"{origin}\n{tree_size}\n{base64.b64encode(root).decode()}\n"


class SigningKey:
    """The log's Ed25519 key and the name it signs as."""

    def __init__(self, seed: bytes, name: str) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self.name = name
        self.public_key = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(name, self.public_key)

    @property
    def verifier_key(self) -> str:
        """The public key in the C2SP verifier key form."""
        encoded = base64.b64encode(ED25519_ALGORITHM + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def sign_note(self, body: str) -> str:
        """The signed note of `body` (text ending with a newline)."""
        signature = self._private.sign(body.encode())
        encoded = base64.b64encode(self.key_id + signature).decode()
        return f"{body}\n{SIGNATURE_DASH} {self.name} {encoded}\n"

    def sign(self, origin: str, tree_size: int, root: bytes) -> str:
        return self.sign_note(checkpoint_body(origin, tree_size, root))


def seed_text(seed: bytes) -> bytes:
    return base64.urlsafe_b64encode(seed).rstrip(b"=")


def _seed(text: bytes, path: Path) -> bytes:
    """A key file holds the 32-byte Ed25519 seed as URL-safe base64 (padding optional), the
    same form as the secrets generated beside a SQLite database."""
    try:
        seed = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        seed = b""
    if len(seed) != SEED_BYTES:
        raise SecretFileError(
            f"the signing key in {path} is not 32 bytes in URL-safe base64: write one with "
            "`timebank keys create PATH`"
        )
    return seed


def create_key_file(path: Path, name: str) -> SigningKey:
    """Writes a new signing key into a new file (mode 0600); FileExistsError if one is there."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    write_secret(path, seed_text(seed))
    return SigningKey(seed, name)


def signing_key_path(settings: Settings) -> Path:
    """TIMEBANK_SIGNING_KEY_FILE; with none, SQLite uses a key generated beside its database
    on first use, and PostgreSQL (a deployment whose checkpoints others keep) refuses to
    start."""
    path = settings.signing_key_file
    if path is not None:
        return path
    if not settings.store.is_sqlite:
        raise SecretFileError(
            "PostgreSQL needs a signing key for the log's checkpoints: write one with "
            "`timebank keys create PATH` and set TIMEBANK_SIGNING_KEY_FILE to it"
        )
    return Path(f"{settings.store.sqlite_path}.signing-key")


def load_signing_key(settings: Settings) -> tuple[SigningKey, bool]:
    """The log's signing key, and whether it was generated now (its path is then worth
    telling the operator)."""
    path = signing_key_path(settings)
    made = settings.signing_key_file is None and not path.exists()
    if made:
        generated(path)
    return SigningKey(_seed(read_secret(path, "signing key"), path), settings.log_origin), made
