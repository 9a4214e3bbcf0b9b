"""The Merkle tree module against the Certificate Transparency reference vectors, and against
a second implementation written here straight from the recursive definitions of RFC 9162
(section 2.1), cross-checked on random sizes."""

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from timebank import merkle

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
H96 = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
H5F = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
H6B = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
HBC = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
HCA = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
H0E = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"
INCLUSION = [  # (leaf index, tree size, proof)
    (0, 1, []),
    (0, 8, [H96, H5F, H6B]),
    (5, 8, [HBC, HCA, ROOTS[4]]),
    (2, 3, [ROOTS[2]]),
    (1, 5, [ROOTS[1], H5F, HBC]),
]
CONSISTENCY = [  # (first size, second size, proof)
    (1, 1, []),
    (1, 8, [H96, H5F, H6B]),
    (6, 8, [H0E, HCA, ROOTS[4]]),
    (2, 5, [H5F, HBC]),
]


def _hashes(hexes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


def _tree(size: int) -> merkle.RangeHash:
    return merkle.hash_of_leaves([merkle.leaf_hash(leaf) for leaf in LEAVES[:size]])


# A second implementation: the definitions of RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 over the
# entries themselves, recursive and unoptimised.


def naive_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:])).digest()


def naive_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


def naive_proof(m: int, d: list[bytes]) -> list[bytes]:
    return naive_subproof(m, d, True)


def test_roots_of_the_reference_vectors() -> None:
    assert merkle.root(0, _tree(0)).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    for size, expected in ROOTS.items():
        assert merkle.root(size, _tree(size)).hex() == expected
        assert naive_mth(LEAVES[:size]).hex() == expected


def test_inclusion_proofs_of_the_reference_vectors() -> None:
    for index, size, expected in INCLUSION:
        proof = merkle.inclusion_proof(index, size, _tree(size))
        assert proof == _hashes(expected)
        leaf = merkle.leaf_hash(LEAVES[index])
        assert merkle.verify_inclusion(index, size, leaf, proof, bytes.fromhex(ROOTS[size]))
        assert not merkle.verify_inclusion(
            index, size, merkle.leaf_hash(b"x"), proof, bytes.fromhex(ROOTS[size])
        )


def test_consistency_proofs_of_the_reference_vectors() -> None:
    for first, second, expected in CONSISTENCY:
        proof = merkle.consistency_proof(first, second, _tree(second))
        assert proof == _hashes(expected)
        roots = bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
        assert merkle.verify_consistency(first, second, *roots, proof)
        assert not merkle.verify_consistency(first, second, roots[1], roots[0], proof) or (
            first == second
        )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=8), min_size=1, max_size=70),
    st.data(),
)
def test_agrees_with_the_recursive_definitions(entries: list[bytes], data: st.DataObject) -> None:
    size = len(entries)
    tree = merkle.hash_of_leaves([merkle.leaf_hash(e) for e in entries])
    root = merkle.root(size, tree)
    assert root == naive_mth(entries)

    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(index, size, tree)
    assert proof == naive_path(index, entries)
    leaf = merkle.leaf_hash(entries[index])
    assert merkle.verify_inclusion(index, size, leaf, proof, root)
    assert not merkle.verify_inclusion(index, size, leaf, proof, merkle.leaf_hash(b"other"))
    if size > 1:
        assert not merkle.verify_inclusion((index + 1) % size, size, leaf, proof, root) or (
            entries[(index + 1) % size] == entries[index]
        )
    if proof:
        bent = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
        assert not merkle.verify_inclusion(index, size, leaf, bent, root)

    first = data.draw(st.integers(1, size))
    proof = merkle.consistency_proof(first, size, tree)
    if first < size:
        assert proof == naive_proof(first, entries)
    first_root = naive_mth(entries[:first])
    assert merkle.verify_consistency(first, size, first_root, root, proof)
    if first < size:
        assert not merkle.verify_consistency(first, size, root, root, proof)
        if proof:
            assert not merkle.verify_consistency(first, size, first_root, root, proof[:-1])


@given(st.integers(1, 300))
def test_complete_subtrees_make_up_the_root(size: int) -> None:
    """The root is the fold of the complete subtrees along the right edge: what a store of
    complete subtrees gives for any range the proofs ask for."""
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    tree = merkle.hash_of_leaves(leaves)
    parts = merkle.complete_subtrees(0, size)
    assert sum(1 << level for level, _ in parts) == size
    hashes = [tree(i << level, (i + 1) << level) for level, i in parts]
    assert merkle.fold(hashes) == merkle.root(size, tree)
