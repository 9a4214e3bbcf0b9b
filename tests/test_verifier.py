"""The offline verifier of certificate bundles (timebank/verifier.py, `timebank verify`), on
bundles made of real stored events: a real runtime on both stores credits services, and each
bundle puts those events' leaf bytes, as stored, with a certificate event made by hand into a
tree built in memory, under a checkpoint signed with the deployment's key. Every check fails
on the bundle it is there to catch, in the library and on the command line."""

import base64
import copy
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PG_SERVER, make_settings
from tests.http import Town, serve
from timebank import merkle, verifier
from timebank.checkpoints import SigningKey
from timebank.logtree import encode_leaf, notification_leaf
from timebank.runtime import Runtime
from timebank.verifier import CERTIFICATE_TOPIC, CORRECTED_TOPIC, CREDITED_TOPIC, Check

ORIGIN = "town.test/log"
ROOT = Path(__file__).resolve().parent.parent


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class History:
    """What a real store holds after two volunteers served: every leaf, in log order."""

    leaves: list[bytes]
    # The leaf indices of the first volunteer's ServiceCredited (90 and 45 minutes) and
    # ServiceCorrected (90 made 100) events, in log order.
    evidence: list[int]
    others: list[int]  # the second volunteer's ServiceCredited
    account_id: uuid.UUID
    org_id: uuid.UUID
    signing_key: SigningKey  # the deployment's
    served_key: str  # the verifier key GET /v1/log/public-key serves
    stored_checkpoint: str  # the checkpoint the deployment signed of its tree of `leaves`


def _state_id(value: dict[str, str]) -> uuid.UUID:
    assert value["_type_"] == "uuid_hex"
    return uuid.UUID(hex=value["_data_"])


def earn(town: Town, volunteer: str, minutes: int, started_minutes_ago: int) -> str:
    """Serves `minutes` at a time of its own (one volunteer never serves twice at once), in
    an activity still running (a signup needs one)."""
    start = datetime.now(UTC) - timedelta(minutes=started_minutes_ago)
    end = start + timedelta(minutes=minutes)
    activity = town.activity(starts_at=start - timedelta(minutes=10))
    signup = town.admin.post(
        f"/v1/activities/{activity['id']}/signups", {"volunteer_id": volunteer}
    ).json()["id"]
    for action, at in (("check-in", start), ("check-out", end)):
        r = town.admin.post(f"/v1/signups/{signup}/{action}", {"at": at.isoformat()})
        assert r.status_code == 200, r.text
    r = town.admin.post(f"/v1/signups/{signup}/verify", {"decision": "approve"})
    assert r.status_code == 200 and r.json()["credited_minutes"] == minutes, r.text
    return str(signup)


def correct(town: Town, signup: str, minutes: int) -> None:
    town.rt.runner.catch_up()
    r = town.admin.post("/v1/disputes", {"record_id": signup, "reason": "签到表为准"})
    assert r.status_code == 201, r.text
    r = town.admin.post(
        f"/v1/disputes/{r.json()['id']}/resolve",
        {"decision": "correct", "minutes": minutes, "reason": "签到表为准"},
    )
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[History]:
    """Built once per store for the whole module: the checks below only read it."""
    import psycopg

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('store')}/timebank.db"
    else:
        name = f"timebank_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_SERVER.rsplit('/', 1)[0]}/{name}"
    rt = Runtime(make_settings(url, log_origin=ORIGIN))
    try:
        with serve(rt) as base_url:
            town = Town(rt, base_url)
            first, second = town.volunteer(name="张三"), town.volunteer(name="王五")
            signup = earn(town, first, 90, started_minutes_ago=300)
            earn(town, second, 30, started_minutes_ago=100)
            earn(town, first, 45, started_minutes_ago=100)
            correct(town, signup, 100)
            served_key = town.admin.get("/v1/log/public-key").json()["verifier_key"]
        rt.log_tree.catch_up()
        stored = rt.log_tree.sign_checkpoint()
        assert stored is not None
        notifications = rt.recorder.select_notifications(start=1, limit=10_000)
    finally:
        rt.close()
        if request.param == "postgres":
            with psycopg.connect(PG_SERVER, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    leaves = [notification_leaf(n) for n in notifications]
    credited = [
        i for i, n in enumerate(notifications) if n.topic in (CREDITED_TOPIC, CORRECTED_TOPIC)
    ]
    accounts = [notifications[i].originator_id for i in credited]
    assert len(credited) == 4 and accounts[0] == accounts[2] == accounts[3] != accounts[1]
    assert notifications[credited[3]].topic == CORRECTED_TOPIC
    org_id = _state_id(json.loads(notifications[credited[0]].state)["org_id"])
    yield History(
        leaves,
        [credited[0], credited[2], credited[3]],
        [credited[1]],
        uuid.UUID(str(accounts[0])),
        org_id,
        rt.log_tree.key,
        served_key,
        stored.note,
    )


@pytest.fixture(scope="module")
def key(history: History) -> SigningKey:
    """Bundles are signed with the deployment's key, over its tree and one more leaf."""
    return history.signing_key


def services_of(h: History, evidence: Sequence[int]) -> list[dict[str, Any]]:
    """The services those events credit, each with its last event's minutes."""
    services: dict[str, dict[str, Any]] = {}
    for index in evidence:
        state = json.loads(verifier.decode_leaf(h.leaves[index]).state)
        source_id = str(_state_id(state["source_id"]))
        services.setdefault(
            source_id,
            {
                "source_id": source_id,
                "date": "2026-03-02",
                "activity": "陪伴老人",
                "category": "elder_care",
                "backfill": False,
            },
        )["minutes"] = state.get("corrected_minutes", state.get("service_minutes"))
    return list(services.values())


def content_of(h: History, evidence: Sequence[int]) -> dict[str, Any]:
    services = services_of(h, evidence)
    return {
        "format": "timebank-certificate/1",
        "certificate_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "certificate:TB-TEST")),
        "number": "TB-7KQ2-M9XD-3HTW-C",
        "volunteer": {
            "name": "张三",
            "id_number_masked": "1101**********1234",
            "volunteer_number": "V-0001",
            "account_id": str(h.account_id),
        },
        "issuer": {"org_id": str(h.org_id), "name": "服务队"},
        "period": {"from": "2026-01-01", "to": "2026-06-30"},
        "purpose": None,
        "services": services,
        "total_minutes": sum(s["minutes"] for s in services),
        "issued_on": "2026-12-07",
    }


def certificate_leaf(content: dict[str, Any], **state: Any) -> bytes:
    """The Issued event as the store would keep it: the verifier reads `digest` and `number`."""
    fields = {
        "number": content["number"],
        "digest": verifier.content_digest(content),
        "total_minutes": content["total_minutes"],
        **state,
    }
    return encode_leaf(
        uuid.UUID(content["certificate_id"]), 1, CERTIFICATE_TOPIC, json.dumps(fields).encode()
    )


def event(leaves: Sequence[bytes], index: int, size: int) -> dict[str, Any]:
    tree = merkle.hash_of_leaves([merkle.leaf_hash(leaf) for leaf in leaves])
    proof = merkle.inclusion_proof(index, size, tree)
    return {
        "position": index + 1,
        "leaf_index": index,
        "leaf": b64(leaves[index]),
        "inclusion_proof": [b64(p) for p in proof],
    }


def bundle_of(
    leaves: Sequence[bytes],
    content: dict[str, Any],
    certificate: int,
    evidence: Sequence[int],
    key: SigningKey,
    origin: str = ORIGIN,
    consistent_with: Sequence[int] = (),
) -> dict[str, Any]:
    """The bundle of the certificate at leaf `certificate` under a checkpoint of all `leaves`."""
    size = len(leaves)
    tree = merkle.hash_of_leaves([merkle.leaf_hash(leaf) for leaf in leaves])
    return {
        "format": "timebank-certificate-bundle/1",
        "content": content,
        "checkpoint": key.sign(origin, size, merkle.root(size, tree)),
        "verifier_key": key.verifier_key,
        "certificate_event": event(leaves, certificate, size),
        "evidence": [event(leaves, i, size) for i in evidence],
        "consistency": [
            {
                "first": min(n, size),
                "second": max(n, size),
                "proof": [b64(p) for p in merkle.consistency_proof(min(n, size), size, tree)],
            }
            for n in consistent_with
            if n <= size
        ],
    }


def issued(
    h: History, key: SigningKey, content: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[list[bytes], dict[str, Any]]:
    """The store's leaves with the certificate of `content` issued after them, and its bundle."""
    content = content or content_of(h, h.evidence)
    leaves = [*h.leaves, certificate_leaf(content)]
    return leaves, bundle_of(leaves, content, len(h.leaves), h.evidence, key, **kwargs)


def failing(checks: list[Check]) -> dict[str, str]:
    return {c.name: c.detail for c in checks if not c.ok}


def test_a_bundle_of_real_events_passes_every_check(history: History, key: SigningKey) -> None:
    _, bundle = issued(history, key)
    checks = verifier.verify_bundle(bundle, key.verifier_key)
    assert failing(checks) == {}
    assert {c.name for c in checks} >= {
        "format",
        "checkpoint",
        "certificate event included",
        "certificate event",
        "digest",
        "number",
        "evidence included",
        "evidence",
        "minutes",
        "total minutes",
    }


def test_the_served_key_checks_a_bundle_and_the_deployments_own_checkpoint_kept_earlier(
    history: History, key: SigningKey
) -> None:
    assert history.served_key == key.verifier_key
    assert len(history.served_key.split("+")[1]) == 8
    stored_size = len(history.leaves)
    _, bundle = issued(history, key, consistent_with=[stored_size])
    assert bundle["consistency"][0]["first"] == stored_size
    checks = verifier.verify_bundle(bundle, history.served_key, [history.stored_checkpoint])
    assert failing(checks) == {} and checks[-1].name == "kept checkpoint 1"

    # The deployment's tree with one of its events changed is not the tree it signed.
    bent = [*history.leaves, b""]
    bent[history.evidence[1]] = bent[history.evidence[0]]
    content = content_of(history, history.evidence)
    bent[-1] = certificate_leaf(content)
    bundle = bundle_of(
        bent, content, stored_size, history.evidence, key, consistent_with=[stored_size]
    )
    assert bundle["consistency"][0]["proof"]
    bad = failing(verifier.verify_bundle(bundle, history.served_key, [history.stored_checkpoint]))
    assert "not a prefix" in bad["kept checkpoint 1"]


def test_a_minute_changed_after_issuing_fails_the_digest_and_the_minutes(
    history: History, key: SigningKey
) -> None:
    _, bundle = issued(history, key)
    bundle["content"]["services"][1]["minutes"] += 1
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key))
    assert set(bad) == {"digest", "minutes", "total minutes"}
    assert "lists 46 minutes, the log 45" in bad["minutes"]


def test_minutes_the_last_evidence_does_not_bear_fail_even_when_the_log_holds_their_digest(
    history: History, key: SigningKey
) -> None:
    content = content_of(history, history.evidence)
    content["services"][0]["minutes"] = 90  # as first credited, before the correction
    content["total_minutes"] = 135
    _, bundle = issued(history, key, content)
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key))
    assert set(bad) == {"minutes"} and "lists 90 minutes, the log 100" in bad["minutes"]


def test_a_changed_total_fails(history: History, key: SigningKey) -> None:
    content = content_of(history, history.evidence)
    content["total_minutes"] = 146
    _, bundle = issued(history, key, content)  # the log even holds this content's digest
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key))
    assert set(bad) == {"total minutes"}
    assert bad["total minutes"] == "total_minutes is 146, the services add up to 145"


def test_a_changed_byte_in_an_evidence_leaf_fails_its_inclusion(
    history: History, key: SigningKey
) -> None:
    _, bundle = issued(history, key)
    leaf = bytearray(base64.b64decode(bundle["evidence"][0]["leaf"]))
    leaf[-3] ^= 1  # inside the state's JSON, which still parses
    bundle["evidence"][0]["leaf"] = b64(bytes(leaf))
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key))
    assert "evidence included" in bad
    assert f"leaves {history.evidence[0]} " in bad["evidence included"]


def test_a_wrong_hash_in_the_certificate_events_proof_fails_its_inclusion(
    history: History, key: SigningKey
) -> None:
    _, bundle = issued(history, key)
    proof = bundle["certificate_event"]["inclusion_proof"]
    proof[0] = b64(bytes(32))
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key))
    assert set(bad) == {"certificate event included"}


def test_a_checkpoint_signed_by_another_key_or_for_another_origin_fails(
    history: History, key: SigningKey
) -> None:
    other = SigningKey(b"\x08" * 32, ORIGIN)
    _, bundle = issued(history, other)
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key))
    assert bad["checkpoint"] == f"the note has no signature by {ORIGIN}"
    # nothing is in a tree nobody vouches for
    assert bad["certificate event included"].startswith("not checked")

    _, bundle = issued(history, key, origin="elsewhere.test/log")
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key))
    assert "origin 'elsewhere.test/log'" in bad["checkpoint"]
    assert set(bad) == {"checkpoint", "certificate event included", "evidence included"}


def test_the_verifier_key_is_read_as_keys_create_and_the_api_print_it(key: SigningKey) -> None:
    name, public_key = verifier.parse_verifier_key(key.verifier_key + "\n")
    assert (name, public_key) == (ORIGIN, key.public_key)
    name_and_id = "+".join(key.verifier_key.split("+", 2)[:2])  # the key's base64 may hold "+"
    ed25519, other = b64(b"\x01" + key.public_key), b64(b"\x02" + key.public_key)
    for bad in ("", ORIGIN, f"{ORIGIN}+00000000+{ed25519}", f"{ORIGIN}+zz+{ed25519}"):
        with pytest.raises(ValueError):
            verifier.parse_verifier_key(bad)
    with pytest.raises(ValueError, match="Ed25519"):
        verifier.parse_verifier_key(f"{name_and_id}+{other}")


def test_a_digest_the_log_does_not_hold_fails(history: History, key: SigningKey) -> None:
    content = content_of(history, history.evidence)
    leaves = [*history.leaves, certificate_leaf(content, digest="0" * 64)]
    bundle = bundle_of(leaves, content, len(history.leaves), history.evidence, key)
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key))
    assert set(bad) == {"digest"} and bad["digest"].endswith("the log's " + "0" * 64)


def test_evidence_of_another_account_or_organisation_fails(
    history: History, key: SigningKey
) -> None:
    # The second volunteer's service, listed on the first's certificate.
    content = content_of(history, history.evidence)
    content["services"] += services_of(history, history.others)
    content["total_minutes"] += 30
    evidence = sorted([*history.evidence, *history.others])
    leaves = [*history.leaves, certificate_leaf(content)]
    bundle = bundle_of(leaves, content, len(history.leaves), evidence, key)
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key))
    assert set(bad) == {"evidence", "minutes"}
    assert "not the volunteer's" in bad["evidence"]

    content = content_of(history, history.evidence)
    content["issuer"]["org_id"] = str(uuid.uuid4())
    _, bundle = issued(history, key, content)
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key))
    assert set(bad) == {"evidence", "minutes"}
    assert "another organisation than the issuer" in bad["evidence"]


def test_evidence_after_the_certificate_event_fails(history: History, key: SigningKey) -> None:
    content = content_of(history, history.evidence)
    last = history.evidence[-1]
    leaves = [*history.leaves[:last], certificate_leaf(content), *history.leaves[last:]]
    evidence = [*history.evidence[:-1], last + 1]  # the correction, now after it
    bundle = bundle_of(leaves, content, last, evidence, key)
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key))
    assert set(bad) == {"evidence", "minutes"}
    assert "comes after the certificate event" in bad["evidence"]


def test_a_kept_checkpoint_of_the_same_log_passes_and_of_another_log_fails(
    history: History, key: SigningKey
) -> None:
    leaves, bundle = issued(history, key, consistent_with=[5])
    tree = merkle.hash_of_leaves([merkle.leaf_hash(leaf) for leaf in leaves])
    earlier = key.sign(ORIGIN, 5, merkle.root(5, tree))
    same = bundle["checkpoint"]
    assert failing(verifier.verify_bundle(bundle, key.verifier_key, [earlier, same])) == {}

    # A log whose first five leaves were rewritten since the verifier kept its checkpoint.
    forked = merkle.hash_of_leaves([merkle.leaf_hash(b"x"), *map(merkle.leaf_hash, leaves[1:])])
    rewritten = key.sign(ORIGIN, 5, merkle.root(5, forked))
    other_root = key.sign(ORIGIN, len(leaves), merkle.root(len(leaves), forked))
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key, [rewritten, other_root]))
    assert set(bad) == {"kept checkpoint 1", "kept checkpoint 2"}
    assert "not a prefix" in bad["kept checkpoint 1"] and "fork" in bad["kept checkpoint 2"]

    forged = SigningKey(b"\x09" * 32, ORIGIN).sign(ORIGIN, 5, merkle.root(5, tree))
    bad = failing(verifier.verify_bundle(bundle, key.verifier_key, [forged]))
    assert bad == {"kept checkpoint 1": f"the note has no signature by {ORIGIN}"}


def run_cli(tmp_path: Path, bundle: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    """`timebank verify` as a program of its own: no database, no server, no settings."""
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "verify", str(path), *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_passes_a_good_bundle_and_names_a_missing_consistency_proof(
    history: History, key: SigningKey, tmp_path: Path
) -> None:
    leaves, bundle = issued(history, key)
    key_file = tmp_path / "log.pub"
    key_file.write_text(key.verifier_key + "\n")
    good = run_cli(tmp_path, bundle, "--key", str(key_file))
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines()[:2] == ["ok   format", "ok   checkpoint"]
    assert all(line.startswith("ok   ") for line in good.stdout.splitlines())

    tree = merkle.hash_of_leaves([merkle.leaf_hash(leaf) for leaf in leaves])
    kept = tmp_path / "kept.note"
    kept.write_text(key.sign(ORIGIN, 5, merkle.root(5, tree)))
    missing = run_cli(tmp_path, bundle, "--key", key.verifier_key, "--checkpoint", str(kept))
    assert missing.returncode == 1
    assert missing.stdout.splitlines()[-1] == (
        f"FAIL kept checkpoint 1: the bundle has no consistency proof between 5 and "
        f"{len(leaves)} leaves: fetch the bundle with ?consistent_with=5"
    )


def test_the_file_alone_verifies_a_bundle_copied_anywhere(
    history: History, key: SigningKey, tmp_path: Path
) -> None:
    """A vendor copies verifier.py and runs it with Python and `cryptography` only."""
    _, bundle = issued(history, key)
    bundle["content"]["total_minutes"] += 1
    shutil.copy(ROOT / "timebank" / "verifier.py", tmp_path / "verifier.py")
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    result = subprocess.run(
        [sys.executable, "-I", "verifier.py", "bundle.json", "--key", key.verifier_key],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "FAIL total minutes: total_minutes is 146, the services add up to 145" in (
        result.stdout.splitlines()
    )
    assert "FAIL digest: " in result.stdout

    (tmp_path / "bundle.json").write_text('{"format": "timebank-certificate-bundle/1"')
    result = subprocess.run(
        [sys.executable, "-I", "verifier.py", "bundle.json", "--key", key.verifier_key],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "FAIL format: bundle.json is not JSON\n",
        "",
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, the value itself included."""
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths(v, (*prefix, i))
    return found


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_hostile_bundle_fails_a_check_and_never_raises(
    history: History, key: SigningKey, data: st.DataObject
) -> None:
    leaves, good = issued(history, key, consistent_with=[5])
    tree = merkle.hash_of_leaves([merkle.leaf_hash(leaf) for leaf in leaves])
    kept = key.sign(ORIGIN, 5, merkle.root(5, tree))
    bundle: Any = copy.deepcopy(good)
    where = data.draw(st.sampled_from(paths(bundle)), label="where")
    value = data.draw(
        JSON | st.binary(max_size=64).map(b64) | st.integers(-(2**70), 2**70), label="value"
    )
    if not where:
        bundle = value
    else:
        parent = bundle
        for step in where[:-1]:
            parent = parent[step]
        if parent[where[-1]] == value:
            return
        parent[where[-1]] = value
    notes = data.draw(st.sampled_from([[], [kept], ["\n\n\u2014 x y"]]), label="kept")
    checks = verifier.verify_bundle(bundle, key.verifier_key, notes)
    assert checks and all(c.ok or (isinstance(c.detail, str) and c.detail) for c in checks)
    # What no check reads: the bundle's copy of the key (the verifier trusts its own), the
    # positions (the leaf index is what the proofs prove), proofs between sizes nobody kept.
    unread = (
        where[:1] == ("verifier_key",)
        or "position" in where
        or (where[:1] == ("consistency",) and not notes)
    )
    assert unread or not all(c.ok for c in checks), (where, value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_any_bytes_decode_to_a_leaf_or_a_value_error(data: bytes) -> None:
    try:
        leaf = verifier.decode_leaf(data)
    except ValueError:
        return
    assert encode_leaf(leaf.originator_id, leaf.version, leaf.topic, leaf.state) == data
