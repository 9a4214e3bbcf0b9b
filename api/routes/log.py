"""The log as a Merkle tree (RFC 9162): its latest signed checkpoint, its public key and its
proofs for anyone, without a token; its entries for auditors and admins."""

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from api.deps import ContextDep, RuntimeDep
from api.schemas.log import (
    ConsistencyProofOut,
    InclusionProofOut,
    LogEntriesOut,
    LogEntryOut,
    PublicKeyOut,
)
from ledger.errors import NotFound
from timebank import merkle
from timebank.logtree import Entry

router = APIRouter(tags=["log"])

MAX_POSITION = 2**63 - 1
MAX_ENTRIES = 100

Position = Annotated[int, Query(ge=1, le=MAX_POSITION, description="an event's log position")]
TreeSize = Annotated[int, Query(ge=1, le=MAX_POSITION, description="a tree size, in leaves")]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@router.get(
    "/v1/log/checkpoint",
    response_class=PlainTextResponse,
    summary="Get the log's latest signed checkpoint",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def get_log_checkpoint(rt: RuntimeDep) -> PlainTextResponse:
    """The latest checkpoint as a C2SP signed note: `origin`, the tree size and the base64
    root, each on a line, an empty line, and the signature line `— <name> base64(key id ||
    Ed25519 signature)`. 404 before the first one is signed.

    Who: anyone; it takes no token."""
    latest = rt.log_tree.latest_checkpoint()
    if latest is None:
        raise NotFound("no-checkpoint", "no checkpoint has been signed yet")
    return PlainTextResponse(latest.note, media_type="text/plain; charset=utf-8")


@router.get("/v1/log/public-key", response_model=PublicKeyOut, summary="Get the log's public key")
def get_log_public_key(rt: RuntimeDep) -> PublicKeyOut:
    """The Ed25519 key that signs the checkpoints, its name and its key id.

    Who: anyone; it takes no token."""
    key = rt.log_tree.key
    return PublicKeyOut(
        name=key.name,
        algorithm="Ed25519",
        key_id=key.key_id.hex(),
        public_key=_b64(key.public_key),
        verifier_key=key.verifier_key,
    )


@router.get(
    "/v1/log/proofs/inclusion",
    response_model=InclusionProofOut,
    summary="Get an event's inclusion proof",
)
def get_inclusion_proof(
    position: Position, tree_size: TreeSize, rt: RuntimeDep
) -> InclusionProofOut:
    """That the event at log `position` is a leaf of the tree of `tree_size` leaves: its leaf
    index, its leaf hash and the proof. 404 `not-in-tree` when the tree does not hold it, or
    has fewer leaves.

    Who: anyone; it takes no token."""
    index, leaf, proof = rt.log_tree.inclusion(position, tree_size)
    return InclusionProofOut(
        position=position,
        leaf_index=index,
        tree_size=tree_size,
        leaf_hash=_b64(leaf),
        proof=[_b64(p) for p in proof],
    )


@router.get(
    "/v1/log/proofs/consistency",
    response_model=ConsistencyProofOut,
    summary="Get a consistency proof between two tree sizes",
)
def get_consistency_proof(first: TreeSize, second: TreeSize, rt: RuntimeDep) -> ConsistencyProofOut:
    """That the tree of `first` leaves is a prefix of the tree of `second`. 422 `tree-sizes`
    when first > second; 404 `not-in-tree` when the tree has fewer than `second` leaves.

    Who: anyone; it takes no token."""
    proof = rt.log_tree.consistency(first, second)
    return ConsistencyProofOut(first=first, second=second, proof=[_b64(p) for p in proof])


def _entry(entry: Entry) -> LogEntryOut:
    leaf = entry.leaf
    return LogEntryOut(
        position=entry.position,
        leaf_index=entry.leaf_index,
        aggregate_id=entry.originator_id,
        aggregate_version=entry.version,
        topic=entry.topic,
        state=_b64(entry.state),
        leaf=_b64(leaf),
        leaf_hash=_b64(merkle.leaf_hash(leaf)),
    )


@router.get("/v1/log/entries/{position}", response_model=LogEntryOut, summary="Get a log entry")
def get_log_entry(
    position: Annotated[int, Path(ge=1, le=MAX_POSITION)], ctx: ContextDep, rt: RuntimeDep
) -> LogEntryOut:
    """The event at log `position` as stored, with its leaf bytes and hash. 404 `not-in-tree`
    when the tree does not hold it (yet).

    Who: an auditor; an admin."""
    found = rt.log_tree.read_entries(ctx.actor, position, 1)
    if not found or found[0].position != position:
        raise NotFound("not-in-tree", f"no event at log position {position} is in the tree")
    return _entry(found[0])


@router.get("/v1/log/entries", response_model=LogEntriesOut, summary="List log entries")
def list_log_entries(
    ctx: ContextDep,
    rt: RuntimeDep,
    start: Annotated[
        int, Query(ge=1, le=MAX_POSITION, description="the first log position wanted")
    ] = 1,
    limit: Annotated[
        int, Query(ge=1, le=MAX_ENTRIES, description="at most this many entries")
    ] = MAX_ENTRIES,
) -> LogEntriesOut:
    """The events of the tree from log position `start` on, in log order, as stored.

    Who: an auditor; an admin."""
    found = rt.log_tree.read_entries(ctx.actor, start, limit)
    following = found[-1].position + 1 if found else start
    return LogEntriesOut(entries=[_entry(e) for e in found], next_start=following)
