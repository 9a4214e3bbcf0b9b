"""A certificate's bundle: its content, its event and every event its minutes rest on, each
as leaf bytes with an inclusion proof to one signed checkpoint, so that anyone holding the
log's public key checks it offline (`timebank verify`; the format: README, "A certificate")."""

import base64
import time
from collections.abc import Callable
from typing import Any

from timebank.logtree import LogTree, NotInTree, StoredCheckpoint

FORMAT = "timebank-certificate-bundle/1"


class CheckpointPending(Exception):
    """No signed checkpoint covers the events yet, and none could be signed within the wait."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _covering(tree: LogTree, positions: list[int]) -> tuple[StoredCheckpoint, list[int]] | None:
    """The latest checkpoint and the events' leaf indexes, when it holds every one."""
    latest = tree.latest_checkpoint()
    try:
        indexes = [tree.leaf_index(p) for p in positions]
    except NotInTree:
        return None
    if latest is None or latest.tree_size <= max(indexes):
        return None
    return latest, indexes


def checkpoint_for(
    tree: LogTree,
    positions: list[int],
    wait_seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[StoredCheckpoint, list[int]]:
    """The latest signed checkpoint, once it covers every event at `positions`: the tree is
    built on and signed here when it does not yet, for at most `wait_seconds`."""
    found = _covering(tree, positions)
    deadline = clock() + wait_seconds
    while found is None and clock() < deadline:
        built = tree.build_batch()
        tree.sign_checkpoint()
        found = _covering(tree, positions)
        if found is None and not built:
            break
    if found is None:
        raise CheckpointPending(
            "the log's tree does not cover this certificate's events yet; retry shortly"
        )
    return found


def _event(tree: LogTree, position: int, index: int, tree_size: int) -> dict[str, Any]:
    entry = tree.entries(position, 1)[0]
    _, _, proof = tree.inclusion(position, tree_size)
    return {
        "position": position,
        "leaf_index": index,
        "leaf": _b64(entry.leaf),
        "inclusion_proof": [_b64(p) for p in proof],
    }


def certificate_bundle(
    tree: LogTree,
    content: dict[str, Any],
    certificate_position: int,
    evidence_positions: list[int],
    wait_seconds: float,
    consistent_with: int | None = None,
) -> dict[str, Any]:
    positions = [certificate_position, *evidence_positions]
    checkpoint, indexes = checkpoint_for(tree, positions, wait_seconds)
    size = checkpoint.tree_size
    events = [_event(tree, p, i, size) for p, i in zip(positions, indexes, strict=True)]
    consistency = []
    if consistent_with is not None:
        first, second = sorted((consistent_with, size))
        proof = tree.consistency(first, second)
        consistency.append({"first": first, "second": second, "proof": [_b64(p) for p in proof]})
    return {
        "format": FORMAT,
        "content": content,
        "checkpoint": checkpoint.note,
        "verifier_key": tree.key.verifier_key,
        "certificate_event": events[0],
        "evidence": events[1:],
        "consistency": consistency,
    }
