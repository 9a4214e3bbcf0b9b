"""The log's checkpoint, public key, proofs and entries over HTTP, checked as a third party
would: with the pure Merkle module and only the public key, on both stores."""

import base64
import time

import httpx

from ledger.context import Role
from tests.http import Api, Town
from timebank import merkle
from timebank.checkpoints import Checkpoint, verify_note

ED25519 = b"\x01"  # the signature type C2SP verifier keys start with


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def stranger(town: Town) -> Api:
    """A caller without a token."""
    api = Api(town.base_url, "")
    del api.client.headers["Authorization"]
    return api


def signed_checkpoint(town: Town, anyone: Api) -> Checkpoint:
    """The latest checkpoint once it covers the whole log, checked with the published key."""
    key = anyone.get("/v1/log/public-key").json()
    public_key = b64(key["public_key"])
    encoded = base64.b64encode(ED25519 + public_key).decode()
    assert key["verifier_key"] == f"{key['name']}+{key['key_id']}+{encoded}"
    deadline = time.monotonic() + 10
    while True:
        r = anyone.get("/v1/log/checkpoint")
        if r.status_code == 200:
            assert r.headers["content-type"].startswith("text/plain")
            checkpoint = verify_note(r.text, key["name"], public_key)
            if checkpoint.tree_size == town.rt.recorder.max_notification_id():
                return checkpoint
        assert time.monotonic() < deadline, r.text
        time.sleep(0.05)


def test_an_entry_verifies_against_the_signed_checkpoint_with_only_the_public_key(
    town: Town,
) -> None:
    volunteer = town.volunteer()
    town.earn(volunteer, 45)
    anyone = stranger(town)
    auditor = town.client(Role.AUDITOR)
    first = signed_checkpoint(town, anyone)

    page = auditor.get("/v1/log/entries", start=1, limit=100).json()
    entries = page["entries"]
    assert len(entries) == first.tree_size and page["next_start"] == entries[-1]["position"] + 1
    assert any(e["topic"].endswith("Volunteer.Registered") for e in entries)
    states = b"".join(b64(e["state"]) for e in entries)
    for personal in ("13900001111", "李四", "\\u674e\\u56db"):  # the phone, the name
        assert personal.encode() not in states
    for entry in [*entries[:: max(1, len(entries) // 7)], entries[-1]]:
        one = auditor.get(f"/v1/log/entries/{entry['position']}").json()
        assert one == entry
        leaf = b64(entry["leaf"])
        assert b64(entry["leaf_hash"]) == merkle.leaf_hash(leaf)
        proof = anyone.get(
            "/v1/log/proofs/inclusion", position=entry["position"], tree_size=first.tree_size
        ).json()
        assert proof["leaf_index"] == entry["leaf_index"]
        assert b64(proof["leaf_hash"]) == merkle.leaf_hash(leaf)
        hashes = [b64(h) for h in proof["proof"]]
        assert merkle.verify_inclusion(
            proof["leaf_index"], first.tree_size, merkle.leaf_hash(leaf), hashes, first.root
        )
        bent = leaf[:-1] + bytes([leaf[-1] ^ 1])
        assert not merkle.verify_inclusion(
            proof["leaf_index"], first.tree_size, merkle.leaf_hash(bent), hashes, first.root
        )

    town.earn(town.volunteer(), 30)
    second = signed_checkpoint(town, anyone)
    assert second.tree_size > first.tree_size
    proof = anyone.get(
        "/v1/log/proofs/consistency", first=first.tree_size, second=second.tree_size
    ).json()
    hashes = [b64(h) for h in proof["proof"]]
    assert merkle.verify_consistency(
        first.tree_size, second.tree_size, first.root, second.root, hashes
    )
    assert not merkle.verify_consistency(
        first.tree_size, second.tree_size, second.root, second.root, hashes
    )


def test_bad_questions_are_problems(town: Town) -> None:
    town.volunteer()
    anyone = stranger(town)
    size = signed_checkpoint(town, anyone).tree_size
    for path, params, status, code in (
        ("/v1/log/proofs/inclusion", {"position": 1, "tree_size": size + 1}, 404, "not-in-tree"),
        ("/v1/log/proofs/inclusion", {"position": size + 1, "tree_size": size}, 404, "not-in-tree"),
        ("/v1/log/proofs/inclusion", {"position": 0, "tree_size": size}, 422, None),
        ("/v1/log/proofs/inclusion", {"position": 1, "tree_size": 2**63}, 422, None),
        ("/v1/log/proofs/consistency", {"first": size, "second": 1}, 422, "tree-sizes"),
        ("/v1/log/proofs/consistency", {"first": 1, "second": size + 1}, 404, "not-in-tree"),
    ):
        r = anyone.get(path, **params)
        assert r.status_code == status, (path, params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if code is not None:
            assert r.json()["type"].endswith(code)
    admin = town.admin
    assert admin.get(f"/v1/log/entries/{size + 1}").status_code == 404
    assert admin.get("/v1/log/entries", limit=101).status_code == 422
    assert admin.get("/v1/log/entries", start=size + 1).json() == {
        "entries": [],
        "next_start": size + 1,
    }


def test_readiness_reports_how_far_the_tree_is_built(town: Town) -> None:
    town.volunteer()
    head = town.rt.recorder.max_notification_id()
    deadline = time.monotonic() + 10
    while True:
        tree = httpx.get(f"{town.base_url}/readyz").json()["log_tree"]
        if tree["lag"] == 0:
            break
        assert time.monotonic() < deadline, tree
        time.sleep(0.05)
    assert tree["position"] >= head and tree["tree_size"] == town.rt.log_tree.head().tree_size
