"""Merkle tree hashing, inclusion and consistency proofs of RFC 9162 (section 2.1).

The hashing and the proofs' verification are in timebank/verifier.py (the one file a
verifier copies) and named here too; this module computes the proofs. Leaves are numbered
from 0; a tree of `size` leaves holds leaves 0 to size - 1. The proofs are computed over any
store that can give the hash of a range of leaves (`RangeHash`); `hash_of_leaves` turns a
list of leaf hashes into one."""

import hashlib
from collections.abc import Callable, Sequence

# The hashing and the verification live in the file a verifier copies; they are this
# module's too.
from timebank.verifier import HASH_BYTES as HASH_BYTES
from timebank.verifier import LEAF_PREFIX as LEAF_PREFIX
from timebank.verifier import NODE_PREFIX as NODE_PREFIX
from timebank.verifier import leaf_hash as leaf_hash
from timebank.verifier import node_hash as node_hash
from timebank.verifier import verify_consistency as verify_consistency
from timebank.verifier import verify_inclusion as verify_inclusion

# The hash of leaves [start, end) of the log: MTH(D[start:end]) in RFC 9162.
RangeHash = Callable[[int, int], bytes]


def empty_root() -> bytes:
    return hashlib.sha256(b"").digest()


def split(size: int) -> int:
    """The largest power of two smaller than `size` (size > 1): where RFC 9162 splits."""
    return 1 << ((size - 1).bit_length() - 1)


def complete_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """The (level, index) of the complete aligned subtrees that make up leaves [start, end)
    of a tree whose left edge is at `start` (a subtree of the RFC's recursion), left to
    right: a subtree at level L with index i holds leaves [i * 2**L, (i + 1) * 2**L)."""
    parts = []
    while start < end:
        size = end - start
        level = size.bit_length() - 1
        while start % (1 << level):  # not aligned: a smaller subtree first
            level -= 1
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of consecutive complete subtrees, left to right, of decreasing sizes (as
    `complete_subtrees` gives them): RFC 9162 joins the smaller ones on the right first."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def hash_of_leaves(leaves: Sequence[bytes]) -> RangeHash:
    """A RangeHash over leaf hashes held in memory."""

    def range_hash(start: int, end: int) -> bytes:
        if end - start == 1:
            return leaves[start]
        k = split(end - start)
        return node_hash(range_hash(start, start + k), range_hash(start + k, end))

    return range_hash


def root(size: int, range_hash: RangeHash) -> bytes:
    return empty_root() if size == 0 else range_hash(0, size)


def _path(index: int, start: int, end: int, range_hash: RangeHash) -> list[bytes]:
    if end - start == 1:
        return []
    k = split(end - start)
    if index < start + k:
        return [*_path(index, start, start + k, range_hash), range_hash(start + k, end)]
    return [*_path(index, start + k, end, range_hash), range_hash(start, start + k)]


def inclusion_proof(index: int, size: int, range_hash: RangeHash) -> list[bytes]:
    """PATH(index, D[0:size]): the hashes that, with leaf `index`, give the root of `size`."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    return _path(index, 0, size, range_hash)


def _subproof(m: int, start: int, end: int, whole: bool, range_hash: RangeHash) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole else [range_hash(start, end)]
    k = split(n)
    if m <= k:
        return [*_subproof(m, start, start + k, whole, range_hash), range_hash(start + k, end)]
    return [*_subproof(m - k, start + k, end, False, range_hash), range_hash(start, start + k)]


def consistency_proof(first: int, second: int, range_hash: RangeHash) -> list[bytes]:
    """PROOF(first, D[0:second]): that the tree of `first` leaves is a prefix of the tree of
    `second`. Empty when first is 0 or equals second."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from {first} leaves to {second}")
    if first in (0, second):
        return []
    return _subproof(first, 0, second, True, range_hash)
