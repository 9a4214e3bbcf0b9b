"""Bodies of the log routes: the log's Merkle tree (RFC 9162), its proofs and its entries.
Hashes, keys and bytes are standard base64."""

from uuid import UUID

from pydantic import Field

from api.schemas.common import Out

Base64 = str


class PublicKeyOut(Out):
    name: str = Field(description="the key's name: the log's origin, as in its checkpoints")
    algorithm: str = Field(description="Ed25519")
    key_id: str = Field(
        description="hex of the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public_key), "
        "as at the start of each signature"
    )
    public_key: Base64 = Field(description="the 32-byte Ed25519 public key")
    verifier_key: str = Field(
        description="the C2SP signed-note verifier key: `name+key_id+base64(0x01 || key)`"
    )


class InclusionProofOut(Out):
    position: int = Field(description="the event's log position")
    leaf_index: int = Field(description="its leaf in the tree (from 0): its ordinal in the log")
    tree_size: int
    leaf_hash: Base64 = Field(description="SHA-256(0x00 || the entry's leaf bytes)")
    proof: list[Base64] = Field(description="the RFC 9162 inclusion proof, leaf to root")


class ConsistencyProofOut(Out):
    first: int = Field(description="the smaller tree size")
    second: int = Field(description="the larger tree size")
    proof: list[Base64] = Field(description="the RFC 9162 consistency proof")


class LogEntryOut(Out):
    position: int = Field(description="the event's log position")
    leaf_index: int = Field(description="its leaf in the tree (from 0)")
    aggregate_id: UUID
    aggregate_version: int
    topic: str = Field(description="the event's type, as stored")
    state: Base64 = Field(
        description="the event's state as stored (JSON; personal fields sealed under the "
        "volunteer's key)"
    )
    leaf: Base64 = Field(description="the canonical leaf bytes (docs/log-format.md)")
    leaf_hash: Base64


class LogEntriesOut(Out):
    entries: list[LogEntryOut]
    next_start: int = Field(
        description="pass it as `start` for the entries that follow (the same `start` when "
        "none are in the tree yet)"
    )
