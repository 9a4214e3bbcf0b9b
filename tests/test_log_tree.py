"""The log's Merkle tree, built behind the log: its stored root and proofs equal those computed
from every stored event, it resumes after a batch that failed half-way, its leaves are the
events in log order whatever positions a failed insert burned, and its checkpoints are signed
with the deployment's key; on both stores."""

import itertools
import os
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from projections.db import insert_rows
from tests.conftest import make_settings
from tests.http import Town, serve
from timebank import logtree, merkle
from timebank.checkpoints import verify_note
from timebank.keyfiles import SecretFileError
from timebank.runtime import Runtime, open_database


@pytest.fixture
def quiet_town(database_url: str) -> Iterator[Town]:
    """A town over HTTP whose runtime follows nothing by itself: the test builds the tree."""
    rt = Runtime(make_settings(database_url, projection_batch_size=7))
    try:
        with serve(rt) as base_url:
            yield Town(rt, base_url)
    finally:
        rt.close()


def some_history(town: Town, volunteers: int = 3) -> None:
    for i in range(volunteers):
        town.earn(town.volunteer(name=f"志愿者{i}"), 30 + i)


def stored_leaves(rt: Runtime) -> list[tuple[int, bytes]]:
    """Every stored event's position and leaf hash, read straight from the log."""
    return [
        (n.id, merkle.leaf_hash(logtree.notification_leaf(n)))
        for n in rt.recorder.select_notifications(start=1, limit=1_000_000)
    ]


def test_the_stored_tree_equals_the_tree_of_every_stored_event(quiet_town: Town) -> None:
    rt = quiet_town.rt
    some_history(quiet_town)
    head = rt.log_tree.catch_up()
    leaves = [digest for _, digest in stored_leaves(rt)]
    assert head.tree_size == len(leaves) > 20
    recomputed = merkle.hash_of_leaves(leaves)
    assert head.root == merkle.root(len(leaves), recomputed)
    for size in (1, 2, 7, 8, 13, len(leaves) - 1, len(leaves)):
        assert rt.log_tree.root(size) == merkle.root(size, recomputed)
        for index in {0, size // 2, size - 1}:
            position = stored_leaves(rt)[index][0]
            found, leaf, proof = rt.log_tree.inclusion(position, size)
            assert (found, leaf) == (index, leaves[index])
            assert proof == merkle.inclusion_proof(index, size, recomputed)
        for first in (1, size // 3, size):
            if first:
                proof = rt.log_tree.consistency(first, size)
                assert proof == merkle.consistency_proof(first, size, recomputed)
    with pytest.raises(logtree.NotInTree):
        rt.log_tree.consistency(2, len(leaves) + 1)


def test_a_batch_that_fails_half_way_leaves_nothing_and_the_tree_resumes(
    quiet_town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = quiet_town.rt
    some_history(quiet_town, 1)
    assert rt.log_tree.build_batch() == 7
    before = rt.log_tree.head()
    real_insert = insert_rows

    def crash_after_the_nodes(cur: Any, table: str, *args: Any) -> None:
        real_insert(cur, table, *args)
        if table == "tb_log_nodes":
            raise RuntimeError("the process dies here")

    monkeypatch.setattr(logtree, "insert_rows", crash_after_the_nodes)
    with pytest.raises(RuntimeError):
        rt.log_tree.build_batch()
    assert rt.log_tree.head() == before
    with rt.db.read() as cur:
        cur.execute("SELECT count(*) FROM tb_log_nodes WHERE level = 0")
        assert cur.fetchone()[0] == before.tree_size
    monkeypatch.setattr(logtree, "insert_rows", real_insert)
    some_history(quiet_town, 1)
    head = rt.log_tree.catch_up()
    leaves = [digest for _, digest in stored_leaves(rt)]
    assert head.tree_size == len(leaves)
    assert head.root == merkle.root(len(leaves), merkle.hash_of_leaves(leaves))


def burn_a_position(rt: Runtime, database_url: str) -> None:
    """An insert into the log that fails after it took its position, as a batch whose
    transaction aborts does."""
    table = rt.recorder.events_table_name
    row = (str(uuid.uuid4()), 1, "burnt", b"{}")
    if rt.db.is_sqlite:
        lite = sqlite3.connect(rt.settings.store.sqlite_path, isolation_level=None)
        lite.execute("BEGIN IMMEDIATE")
        lite.execute(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            row,
        )
        lite.execute("ROLLBACK")
        lite.close()
        return
    with psycopg.connect(database_url) as conn:
        conn.execute(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s)",
            row,
        )
        conn.rollback()


def test_leaves_are_the_events_in_log_order_whatever_positions_were_burned(
    quiet_town: Town, database_url: str
) -> None:
    rt = quiet_town.rt
    some_history(quiet_town, 1)
    burn_a_position(rt, database_url)
    some_history(quiet_town, 1)
    rt.log_tree.catch_up()
    positions = [position for position, _ in stored_leaves(rt)]
    if not rt.db.is_sqlite:  # PostgreSQL's sequence does not give back what it handed out
        assert any(b - a > 1 for a, b in itertools.pairwise(positions))
    for index, position in enumerate(positions):
        assert rt.log_tree.leaf_index(position) == index
    entries = rt.log_tree.entries(positions[0], len(positions))
    assert [(e.leaf_index, e.position) for e in entries] == list(enumerate(positions))


def test_checkpoints_are_signed_by_the_deployments_key_when_the_log_grows(
    database_url: str,
) -> None:
    rt = Runtime(make_settings(database_url, checkpoint_seconds=0.2, log_origin="town.test/log"))
    try:
        rt.start()
        with serve(rt) as base_url:
            town = Town(rt, base_url)
            some_history(town, 1)
            deadline = time.monotonic() + 10
            while True:
                head, latest = rt.log_tree.head(), rt.log_tree.latest_checkpoint()
                if latest is not None and head.tree_size == latest.tree_size == rt.log_head():
                    break
                assert time.monotonic() < deadline, "no checkpoint of the whole log"
                time.sleep(0.05)
        key = rt.log_tree.key
        checkpoint = verify_note(latest.note, "town.test/log", key.public_key)
        assert (checkpoint.origin, checkpoint.tree_size) == ("town.test/log", head.tree_size)
        assert checkpoint.root == head.root
        bent = latest.note.replace(str(head.tree_size), str(head.tree_size + 1), 1)
        with pytest.raises(ValueError):
            verify_note(bent, "town.test/log", key.public_key)
        assert rt.log_tree.sign_checkpoint() is None  # the log has not grown
    finally:
        rt.close()


def test_postgresql_refuses_to_start_without_a_signing_key_and_sqlite_makes_one(
    database_url: str,
) -> None:
    settings = make_settings(database_url, signing_key_file=None)
    if not settings.store.is_sqlite:
        with pytest.raises(SecretFileError, match="TIMEBANK_SIGNING_KEY_FILE"):
            Runtime(settings)
        return
    rt = Runtime(settings)
    try:
        path = Path(f"{settings.store.sqlite_path}.signing-key")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        public_key = rt.log_tree.key.public_key
    finally:
        rt.close()
    again = Runtime(settings)
    try:
        assert again.log_tree.key.public_key == public_key  # the same key on every start
    finally:
        again.close()


def test_an_erasure_changes_no_leaf(town: Town) -> None:
    rt = town.rt
    volunteer = town.volunteer(name="王五")
    town.earn(volunteer, 20)
    before = rt.log_tree.catch_up()
    r = town.admin.post(f"/v1/volunteers/{volunteer}/erase", {"reason": "本人申请"})
    assert r.status_code == 200, r.text
    after = rt.log_tree.catch_up()
    assert after.tree_size > before.tree_size
    assert rt.log_tree.root(before.tree_size) == before.root
    leaves = [digest for _, digest in stored_leaves(rt)]
    assert merkle.root(before.tree_size, merkle.hash_of_leaves(leaves)) == before.root
    proof = rt.log_tree.consistency(before.tree_size, after.tree_size)
    assert merkle.verify_consistency(
        before.tree_size, after.tree_size, before.root, after.root, proof
    )


def test_two_builders_at_once_build_one_tree(quiet_town: Town) -> None:
    rt = quiet_town.rt
    some_history(quiet_town, 2)
    other_db = open_database(rt.settings)
    other = logtree.LogTree(rt.recorder, other_db, rt.log_tree.key, "o", batch_size=3)
    try:
        threads = [threading.Thread(target=tree.catch_up) for tree in (rt.log_tree, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        leaves = [digest for _, digest in stored_leaves(rt)]
        head = rt.log_tree.head()
        assert head.tree_size == len(leaves)
        assert head.root == merkle.root(len(leaves), merkle.hash_of_leaves(leaves))
        with rt.db.read() as cur:
            cur.execute("SELECT count(*) FROM tb_log_leaves")
            assert cur.fetchone()[0] == len(leaves)
    finally:
        other_db.close()


def test_a_checkpoint_is_signed_at_most_once_per_interval(database_url: str) -> None:
    rt = Runtime(make_settings(database_url, checkpoint_seconds=3600))
    try:
        rt.start()
        with serve(rt) as base_url:
            town = Town(rt, base_url)
            deadline = time.monotonic() + 10
            while (first := rt.log_tree.latest_checkpoint()) is None:
                assert time.monotonic() < deadline, "no first checkpoint"
                time.sleep(0.05)
            town.volunteer()
            deadline = time.monotonic() + 10
            while rt.log_tree.head().tree_size <= first.tree_size:
                assert time.monotonic() < deadline, "the tree did not grow"
                time.sleep(0.05)
            time.sleep(0.5)  # more than the poll: a checkpoint would have been signed
            assert rt.log_tree.latest_checkpoint() == first
    finally:
        rt.close()
