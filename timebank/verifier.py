"""Checks a certificate bundle offline: the log's verification code, in one file.

This module depends on nothing but the standard library and `cryptography`, and imports
nothing of the project, so that a school, another time bank or anyone who keeps the log's
public key can copy this one file and run it:

    python verifier.py BUNDLE.json --key KEY [--checkpoint KEPT ...]

It is also the code the project itself verifies with: `timebank/merkle.py` and
`timebank/checkpoints.py` take their verification from here (RFC 9162 inclusion and
consistency proofs; C2SP signed notes, checkpoints and verifier keys), and `timebank
verify` runs `verify_bundle`. The bundle's format, the content's digest and the evidence
rule are in docs/log-format.md ("A certificate bundle, and how it is verified").

Every value of a bundle is treated as hostile: a malformed one is a failed check with a
detail, never an exception."""

import argparse
import base64
import hashlib
import json
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# RFC 9162 tree hashing.
HASH_BYTES = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
# A proof of a tree below 2**64 leaves has at most 64 hashes.
MAX_PROOF_HASHES = 64

# C2SP signed notes and checkpoints.
ED25519_ALGORITHM = b"\x01"  # the signature type of Ed25519 in C2SP signed notes
PUBLIC_KEY_BYTES = 32
ROOT_BYTES = 32
SIGNATURE_DASH = "\u2014"  # the em dash that starts a signature line

BUNDLE_FORMAT = "timebank-certificate-bundle/1"
CONTENT_FORMAT = "timebank-certificate/1"
CERTIFICATE_TOPIC = "ledger.certificates:Certificate.Issued"
CREDITED_TOPIC = "ledger.accounts:Account.ServiceCredited"
CORRECTED_TOPIC = "ledger.accounts:Account.ServiceCorrected"
# Where each evidence event keeps the minutes a service counts.
EVIDENCE_MINUTES = {CREDITED_TOPIC: "service_minutes", CORRECTED_TOPIC: "corrected_minutes"}


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does the leaf hash `leaf` sit at `index` of the tree with that root?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: is the tree of `first` leaves with `first_root` a prefix of the tree
    of `second` leaves with `second_root`?"""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is the proof's first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519_ALGORITHM + public_key).digest()[:4]


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root: bytes


def _b64(text: object, what: str) -> bytes:
    """Standard base64 with padding (RFC 4648 section 4); ValueError naming `what`."""
    if not isinstance(text, str):
        raise ValueError(f"{what} is not a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError(f"{what} is not standard base64") from None


def parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) != 4 or lines[-1] != "" or not (lines[1].isascii() and lines[1].isdigit()):
        raise ValueError("not a checkpoint body")
    root = _b64(lines[2], "a checkpoint's root")
    if len(root) != ROOT_BYTES:
        raise ValueError("a checkpoint's root is 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root)


def verify_note(note: str, name: str, public_key: bytes) -> Checkpoint:
    """The checkpoint a note carries, once its signature by `name`'s `public_key` checks;
    ValueError otherwise."""
    body, sep, signatures = note.partition("\n\n")
    if not sep:
        raise ValueError("not a signed note")
    body += "\n"
    wanted = key_id(name, public_key)
    for line in signatures.splitlines():
        dash, signer, encoded = [*line.split(" "), "", ""][:3]
        if dash != SIGNATURE_DASH or signer != name:
            continue
        try:
            blob = base64.b64decode(encoded, validate=True)
        except ValueError:
            continue
        if blob[:4] != wanted:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(blob[4:], body.encode())
        except InvalidSignature:
            raise ValueError("the checkpoint's signature does not verify") from None
        return parse_body(body)
    raise ValueError(f"the note has no signature by {name}")


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    """The name and Ed25519 public key of a C2SP verifier key,
    `<name>+<key id hex>+base64(0x01 || public key)` (the base64 may itself hold a "+");
    ValueError when it is not one or its key id does not match."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not parts[0]:
        raise ValueError("a verifier key is <name>+<key id hex>+<base64 key>")
    name, hex_id, encoded = parts
    try:
        wanted = bytes.fromhex(hex_id)
    except ValueError:
        raise ValueError("the verifier key's key id is not hex") from None
    blob = _b64(encoded, "the verifier key's key")
    if len(blob) != 1 + PUBLIC_KEY_BYTES or blob[:1] != ED25519_ALGORITHM:
        raise ValueError("the verifier key is not an Ed25519 key (0x01 and 32 bytes)")
    public_key = blob[1:]
    if len(wanted) != 4 or wanted != key_id(name, public_key):
        raise ValueError("the verifier key's key id does not match its name and key")
    return name, public_key


@dataclass(frozen=True)
class Leaf:
    """A stored event as the log's leaf holds it (docs/log-format.md)."""

    originator_id: UUID
    version: int
    topic: str
    state: bytes


def decode_leaf(data: bytes) -> Leaf:
    """The inverse of `encode_leaf` (timebank/logtree.py); ValueError if `data` is not a leaf."""
    if len(data) < 28:
        raise ValueError("a leaf is at least 28 bytes")
    originator_id = UUID(bytes=data[:16])
    (version,) = struct.unpack(">Q", data[16:24])
    (topic_length,) = struct.unpack(">I", data[24:28])
    topic_end = 28 + topic_length
    if len(data) < topic_end + 4:
        raise ValueError("the leaf ends inside its topic")
    try:
        topic = data[28:topic_end].decode()
    except UnicodeDecodeError:
        raise ValueError("the leaf's topic is not UTF-8") from None
    (state_length,) = struct.unpack(">I", data[topic_end : topic_end + 4])
    if len(data) != topic_end + 4 + state_length:
        raise ValueError("the leaf's length does not match its state's")
    return Leaf(originator_id, version, topic, data[topic_end + 4 :])


def content_digest(content: Any) -> str:
    """The certificate content's digest: SHA-256 of its canonical JSON, lowercase hex."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        return f"ok   {self.name}" if self.ok else f"FAIL {self.name}: {self.detail}"


KINDS = {str: "a string", int: "an integer", list: "a list", dict: "an object"}


class Malformed(ValueError):
    """A bundle's value is not what the format says; the message says which and why."""


def _field(obj: object, key: str, kind: type, what: str) -> Any:
    if not isinstance(obj, dict):
        raise Malformed(f"{what} is not an object")
    value = obj.get(key)
    # bool is an int to Python, never to the format
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Malformed(f"{what}: {key} is missing or not {KINDS.get(kind, kind.__name__)}")
    return value


def _uuid(text: object, what: str) -> UUID:
    if not isinstance(text, str):
        raise Malformed(f"{what} is not a UUID string")
    try:
        value = UUID(text)
    except ValueError:
        raise Malformed(f"{what} is not a UUID") from None
    if str(value) != text:
        raise Malformed(f"{what} is not a lowercase canonical UUID")
    return value


def _state_uuid(value: object) -> UUID | None:
    """An id as the event store's JSON writes it: {"_type_": "uuid_hex", "_data_": hex}."""
    if isinstance(value, dict) and value.get("_type_") == "uuid_hex":
        data = value.get("_data_")
        if isinstance(data, str) and len(data) == 32:
            try:
                return UUID(hex=data)
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class Event:
    """A bundle's event: where it sits in the log and what it is."""

    leaf_index: int
    leaf: Leaf
    leaf_hash: bytes
    proof: list[bytes]

    def state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.leaf.state)
        except (ValueError, RecursionError):
            raise Malformed(f"the state of leaf {self.leaf_index} is not JSON") from None
        if not isinstance(state, dict):
            raise Malformed(f"the state of leaf {self.leaf_index} is not a JSON object")
        return state


def _event(obj: object, what: str) -> Event:
    leaf_index = _field(obj, "leaf_index", int, what)
    _field(obj, "position", int, what)
    leaf_bytes = _b64(_field(obj, "leaf", str, what), f"{what}.leaf")
    proof_texts = _field(obj, "inclusion_proof", list, what)
    if len(proof_texts) > MAX_PROOF_HASHES:
        raise Malformed(f"{what}.inclusion_proof has more than {MAX_PROOF_HASHES} hashes")
    proof = [_b64(p, f"a hash of {what}.inclusion_proof") for p in proof_texts]
    if any(len(p) != HASH_BYTES for p in proof):
        raise Malformed(f"a hash of {what}.inclusion_proof is not 32 bytes")
    try:
        leaf = decode_leaf(leaf_bytes)
    except ValueError as e:
        raise Malformed(f"{what}.leaf: {e}") from None
    return Event(leaf_index, leaf, leaf_hash(leaf_bytes), proof)


def _check(name: str, test: Callable[[], str | None]) -> Check:
    """Runs one check: `test` returns None when it holds, else why not; a malformed value
    fails it with its reason."""
    try:
        problem = test()
    except (ValueError, RecursionError) as e:
        return Check(name, False, str(e) or type(e).__name__)
    return Check(name, problem is None, problem or "")


def _included(event: Event, checkpoint: Checkpoint | None) -> str | None:
    if checkpoint is None:
        return "not checked: the checkpoint did not verify"
    if not verify_inclusion(
        event.leaf_index, checkpoint.tree_size, event.leaf_hash, event.proof, checkpoint.root
    ):
        return (
            f"leaf {event.leaf_index} is not in the tree of {checkpoint.tree_size} "
            "leaves the checkpoint signs"
        )
    return None


def verify_bundle(
    bundle: dict[str, Any], verifier_key: str, kept_checkpoints: Sequence[str] = ()
) -> list[Check]:
    """Every check of a certificate bundle against the log's verifier key (kept by a channel
    the verifier trusts, not the bundle's own copy) and the checkpoints the verifier kept;
    the certificate holds when all of them pass."""
    if not isinstance(bundle, dict):
        return [Check("format", False, "the bundle is not a JSON object")]

    def bundle_format() -> str | None:
        if bundle.get("format") != BUNDLE_FORMAT:
            return f"the bundle's format is not {BUNDLE_FORMAT}"
        return None

    checks = [_check("format", bundle_format)]

    checkpoint: Checkpoint | None = None
    key: tuple[str, bytes] | None = None

    def signed() -> str | None:
        nonlocal checkpoint, key
        key = parse_verifier_key(verifier_key)
        name, public_key = key
        note = _field(bundle, "checkpoint", str, "the bundle")
        found = verify_note(note, name, public_key)
        if found.origin != name:
            return f"the checkpoint's origin {found.origin!r} is not the key's name {name!r}"
        checkpoint = found
        return None

    checks.append(_check("checkpoint", signed))

    certificate: Event | None = None
    content: dict[str, Any] = {}

    def certificate_included() -> str | None:
        nonlocal certificate
        certificate = _event(bundle.get("certificate_event"), "certificate_event")
        return _included(certificate, checkpoint)

    checks.append(_check("certificate event included", certificate_included))

    def read_content() -> str | None:
        nonlocal content
        content = _field(bundle, "content", dict, "the bundle")
        if content.get("format") != CONTENT_FORMAT:
            return f"the content's format is not {CONTENT_FORMAT}"
        return None

    checks.append(_check("content format", read_content))
    if certificate is None:
        return checks  # the checks below all read the certificate event
    issued: Event = certificate

    def certificate_event() -> str | None:
        if issued.leaf.topic != CERTIFICATE_TOPIC:
            return f"the event is a {issued.leaf.topic!r}, not a {CERTIFICATE_TOPIC}"
        if issued.leaf.originator_id != _uuid(
            content.get("certificate_id"), "content.certificate_id"
        ):
            return f"the event is of certificate {issued.leaf.originator_id}, not this one"
        return None

    checks.append(_check("certificate event", certificate_event))

    def digest() -> str | None:
        stored = _field(issued.state(), "digest", str, "the certificate event's state")
        computed = content_digest(content)
        if stored != computed:
            return f"the content's digest is {computed}, the log's {stored}"
        return None

    checks.append(_check("digest", digest))

    def number() -> str | None:
        stored = _field(issued.state(), "number", str, "the certificate event's state")
        if content.get("number") != stored:
            return f"the content's number is not the log's {stored!r}"
        return None

    checks.append(_check("number", number))

    evidence: list[Event] | None = None

    def evidence_included() -> str | None:
        nonlocal evidence
        items = _field(bundle, "evidence", list, "the bundle")
        evidence = [_event(item, f"evidence[{i}]") for i, item in enumerate(items)]
        problems = [e.leaf_index for e in evidence if _included(e, checkpoint) is not None]
        if checkpoint is None:
            return "not checked: the checkpoint did not verify"
        if problems:
            shown = ", ".join(str(i) for i in problems[:5])
            return f"leaves {shown} are not in the tree the checkpoint signs"
        return None

    checks.append(_check("evidence included", evidence_included))
    minutes: dict[UUID, int] = {}  # the service's minutes by its source, per the log

    def evidence_rule() -> str | None:
        if evidence is None:
            return "not checked: the evidence is malformed"
        account = _uuid(_field(content, "volunteer", dict, "content").get("account_id"), "account")
        org = _uuid(_field(content, "issuer", dict, "content").get("org_id"), "issuer.org_id")
        services = _field(content, "services", list, "content")
        sources = {_uuid(_field(s, "source_id", str, "a service"), "source_id") for s in services}
        if len(sources) != len(services):
            return "a service is listed twice"
        previous = -1
        for event in evidence:
            at = f"leaf {event.leaf_index}"
            if event.leaf_index <= previous:
                return f"{at}: the evidence is not in log order"
            previous = event.leaf_index
            if event.leaf_index >= issued.leaf_index:
                return f"{at}: the evidence comes after the certificate event"
            field = EVIDENCE_MINUTES.get(event.leaf.topic)
            if field is None:
                return f"{at} is a {event.leaf.topic!r}, not a service credited or corrected"
            if event.leaf.originator_id != account:
                return f"{at} is of account {event.leaf.originator_id}, not the volunteer's"
            state = event.state()
            if _state_uuid(state.get("org_id")) != org:
                return f"{at} is of another organisation than the issuer"
            # events written before back-fills (class version 1) named their source signup_id
            source = _state_uuid(state.get("source_id", state.get("signup_id")))
            if source not in sources:
                return f"{at} is of a service the certificate does not list"
            minutes[source] = _field(state, field, int, f"the state of {at}")
        return None

    checks.append(_check("evidence", evidence_rule))

    def service_minutes() -> str | None:
        for service in _field(content, "services", list, "content"):
            source = _uuid(_field(service, "source_id", str, "a service"), "source_id")
            listed = _field(service, "minutes", int, "a service")
            if source not in minutes:
                return f"service {source} has no evidence in the log"
            if listed != minutes[source]:
                return f"service {source} lists {listed} minutes, the log {minutes[source]}"
        return None

    checks.append(_check("minutes", service_minutes))

    def total() -> str | None:
        services = _field(content, "services", list, "content")
        listed = _field(content, "total_minutes", int, "content")
        summed = sum(_field(s, "minutes", int, "a service") for s in services)
        if listed != summed:
            return f"total_minutes is {listed}, the services add up to {summed}"
        return None

    checks.append(_check("total minutes", total))

    for i, note in enumerate(kept_checkpoints):
        checks.append(
            _check(f"kept checkpoint {i + 1}", partial(_kept, bundle, key, checkpoint, note))
        )
    return checks


def _kept(
    bundle: dict[str, Any],
    key: tuple[str, bytes] | None,
    checkpoint: Checkpoint | None,
    note: str,
) -> str | None:
    """A checkpoint the verifier kept: signed by the key, and the same log as the bundle's."""
    if key is None or checkpoint is None:
        return "not checked: the bundle's checkpoint did not verify"
    kept = verify_note(note, *key)
    if kept.origin != key[0]:
        return f"its origin {kept.origin!r} is not the key's name {key[0]!r}"
    if kept.tree_size == checkpoint.tree_size:
        if kept.root != checkpoint.root:
            return f"two different roots for the tree of {kept.tree_size} leaves: a fork"
        return None
    first, second = sorted((kept, checkpoint), key=lambda c: c.tree_size)
    for i, entry in enumerate(_field(bundle, "consistency", list, "the bundle")):
        what = f"consistency[{i}]"
        if (_field(entry, "first", int, what), _field(entry, "second", int, what)) != (
            first.tree_size,
            second.tree_size,
        ):
            continue
        hashes = _field(entry, "proof", list, what)
        if len(hashes) > MAX_PROOF_HASHES:
            raise Malformed(f"{what}.proof has more than {MAX_PROOF_HASHES} hashes")
        proof = [_b64(p, f"a hash of {what}.proof") for p in hashes]
        if not verify_consistency(
            first.tree_size, second.tree_size, first.root, second.root, proof
        ):
            return (
                f"the tree of {first.tree_size} leaves is not a prefix of the tree of "
                f"{second.tree_size}: the log was rewritten"
            )
        return None
    return (
        f"the bundle has no consistency proof between {first.tree_size} and "
        f"{second.tree_size} leaves: fetch the bundle with ?consistent_with={kept.tree_size}"
    )


def read_key(text: str) -> str:
    """A verifier key given as itself or as a file holding it."""
    path = Path(text)
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8-sig").strip()
    except (OSError, ValueError):
        pass
    return text.strip()


def run(bundle_path: Path, key: str, kept_paths: Sequence[Path], out: Callable[[str], Any]) -> int:
    """Checks a bundle file and writes one line per check; 0 when all pass, else 1."""
    try:
        text = bundle_path.read_bytes()
        kept = [p.read_bytes() for p in kept_paths]
    except OSError as e:
        out(f"FAIL read: {e.filename}: {e.strerror}")
        return 1
    try:
        bundle = json.loads(text)
    except (ValueError, RecursionError):
        out(f"FAIL format: {bundle_path} is not JSON")
        return 1
    notes = []
    for path, note in zip(kept_paths, kept, strict=True):
        try:
            notes.append(note.decode("utf-8"))
        except UnicodeDecodeError:
            out(f"FAIL read: {path} is not a signed note (UTF-8 text)")
            return 1
    checks = verify_bundle(bundle, read_key(key), notes)
    for check in checks:
        out(check.line())
    return 0 if all(c.ok for c in checks) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verifier.py", description="Checks a timebank certificate bundle offline."
    )
    parser.add_argument("bundle", type=Path, help="the bundle (JSON) to check")
    parser.add_argument("--key", required=True, help="the log's verifier key, or a file holding it")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        default=[],
        help="a signed checkpoint you kept earlier (a file); may be repeated",
    )
    args = parser.parse_args(argv)
    return run(args.bundle, args.key, args.checkpoint, print)


if __name__ == "__main__":
    sys.exit(main())
