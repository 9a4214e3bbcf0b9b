"""`timebank audit` on a small log on both stores, tampered with straight in the database: a
clean log passes; a changed byte, a deleted event and two swapped events are named at the
first position that differs; a rewritten tail with the tree rebuilt and checkpoints signed
anew passes every stored check and is caught by a checkpoint kept outside; a stored
checkpoint with a bad signature and a kept one from another key are findings."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from entrypoints.cli import app
from tests.conftest import make_settings
from tests.http import Town, serve
from timebank.audit import (
    AuditReport,
    KeptCheckpoint,
    VerifierKey,
    audit,
    open_store,
    parse_verifier_key,
)
from timebank.checkpoints import SigningKey
from timebank.runtime import Runtime

TREE_BATCH = 10  # the tree is built, and a checkpoint signed, every 10 events


@dataclass
class Log:
    rt: Runtime
    positions: list[int]  # of leaf 0, 1, ...
    kept: list[Path]  # the checkpoint of the first 10 leaves, then of the whole log

    @property
    def key(self) -> VerifierKey:
        return VerifierKey.of(self.rt.log_tree.key)

    def audit(self, kept: list[KeptCheckpoint] | None = None) -> AuditReport:
        if kept is None:
            kept = [KeptCheckpoint(str(p), p.read_text()) for p in self.kept]
        with open_store(self.rt.settings) as (recorder, db):
            return audit(recorder, db, self.key, kept)

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self.rt.db.transaction() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if statement.startswith("SELECT") else []

    @property
    def events(self) -> str:
        return str(self.rt.recorder.events_table_name)

    @property
    def at(self) -> str:
        """The condition on an event's log position (SQLite's table keeps it as the rowid)."""
        return f"{'rowid' if self.rt.db.is_sqlite else 'notification_id'} = %s"

    def event(self, leaf: int) -> tuple[Any, ...]:
        rows = self.sql(
            f"SELECT originator_id, originator_version, topic, state FROM {self.events} "
            f"WHERE {self.at}",
            (self.positions[leaf],),
        )
        return tuple(rows[0])

    def change_a_byte(self, leaf: int) -> None:
        state = bytearray(self.event(leaf)[3])
        state[len(state) // 2] ^= 0x01
        self.sql(
            f"UPDATE {self.events} SET state = %s WHERE {self.at}",
            (bytes(state), self.positions[leaf]),
        )


@pytest.fixture
def log(database_url: str, tmp_path: Path) -> Iterator[Log]:
    """A log of a few dozen events, its tree built and signed every 10 events, and two
    checkpoints kept in files: of the first 10 leaves and of the whole log."""
    rt = Runtime(make_settings(database_url, projection_batch_size=TREE_BATCH))
    try:
        with serve(rt) as base_url:
            town = Town(rt, base_url)
            for i in range(2):
                town.earn(town.volunteer(name=f"志愿者{i}"), 30 + i)
        kept = []
        while rt.log_tree.build_batch():
            signed = rt.log_tree.sign_checkpoint()
            assert signed is not None
            if signed.tree_size == TREE_BATCH:
                kept.append(tmp_path / "first.checkpoint")
                kept[-1].write_text(signed.note)
        latest = rt.log_tree.latest_checkpoint()
        assert latest is not None
        kept.append(tmp_path / "latest.checkpoint")
        kept[-1].write_text(latest.note)
        positions = [n.id for n in rt.recorder.select_notifications(start=1, limit=1000)]
        assert latest.tree_size == len(positions) > 3 * TREE_BATCH
        yield Log(rt, positions, kept)
    finally:
        rt.close()


def test_a_clean_log_passes_every_check(log: Log) -> None:
    report = log.audit()
    assert report.passed, report.findings
    assert report.events == len(log.positions)
    assert report.root == log.rt.log_tree.head().root
    names = [c.name for c in report.checks]
    assert names == [
        "log",
        "stored tree",
        "stored checkpoints",
        *(f"kept checkpoint {p}" for p in log.kept),
    ]
    result = CliRunner().invoke(
        app,
        ["audit", "--checkpoint", str(log.kept[0]), "--checkpoint", str(log.kept[1])],
        env={"TIMEBANK_DATABASE_URL": log.rt.settings.database_url},
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.count("ok    ") == 5 and "FAIL" not in result.stdout
    assert "audit passed" in result.stdout


def test_one_changed_byte_is_named_at_its_position(log: Log) -> None:
    log.change_a_byte(15)
    report = log.audit()
    first = report.findings[0]
    assert (first.kind, first.leaf_index, first.position) == ("changed", 15, log.positions[15])
    assert report.first_difference == first
    kinds = {f.kind for f in report.findings}
    assert {"checkpoint-root", "kept-root"} <= kinds  # the signed roots of 20 leaves and more


def test_a_deleted_event_is_named_at_its_position(log: Log) -> None:
    log.sql(f"DELETE FROM {log.events} WHERE {log.at}", (log.positions[15],))
    report = log.audit()
    first = report.findings[0]
    assert (first.kind, first.leaf_index, first.position) == ("deleted", 15, log.positions[15])
    assert report.first_difference == first
    assert report.events == len(log.positions) - 1
    assert "checkpoint-beyond-log" in {f.kind for f in report.findings}


def test_two_swapped_events_are_named_at_the_first(log: Log) -> None:
    a, b = log.event(12), log.event(20)
    columns = "originator_id = %s, originator_version = %s, topic = %s, state = %s"
    update = f"UPDATE {log.events} SET {columns} WHERE {log.at}"
    with log.rt.db.transaction() as cur:  # (id, version) is unique: one aside first
        cur.execute(update, (str(uuid.uuid4()), 1, a[2], a[3], log.positions[12]))
        cur.execute(update, (*a, log.positions[20]))
        cur.execute(update, (*b, log.positions[12]))
    report = log.audit()
    first = report.findings[0]
    assert (first.kind, first.leaf_index, first.position) == ("changed", 12, log.positions[12])
    assert report.first_difference == first


def rewrite_the_tail(log: Log, leaf: int) -> None:
    """What an operator who covers their tracks does: changes an event, rebuilds the tree
    tables to match, and replaces the checkpoints that covered it with fresh ones."""
    log.change_a_byte(leaf)
    for table in ("tb_log_nodes", "tb_log_leaves", "tb_log_tree"):
        log.sql(f"DELETE FROM {table}")
    log.rt.log_tree.catch_up()
    log.sql("DELETE FROM tb_log_checkpoints WHERE tree_size > %s", (leaf,))
    assert log.rt.log_tree.sign_checkpoint() is not None


def test_a_rewritten_tail_passes_the_stored_checks_and_fails_a_kept_checkpoint(
    log: Log,
) -> None:
    rewrite_the_tail(log, 25)
    size = len(log.positions)
    report = log.audit()
    failed = {c.name: c for c in report.checks if not c.passed}
    assert list(failed) == [f"kept checkpoint {log.kept[1]}"]  # the stored data agrees
    (finding,) = failed[f"kept checkpoint {log.kept[1]}"].findings
    assert finding.kind == "kept-root"
    assert (finding.leaf_index, finding.position) == (TREE_BATCH, log.positions[TREE_BATCH])
    assert f"within leaves {TREE_BATCH} to {size - 1}" in finding.message

    # The command, as an auditor runs it: the public key and the store, no other secret.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBANK_")}
    env["TIMEBANK_DATABASE_URL"] = log.rt.settings.database_url
    kept = [arg for p in log.kept for arg in ("--checkpoint", str(p))]
    command = [sys.executable, "-m", "entrypoints.cli", "audit", "--key"]
    command += [log.rt.log_tree.key.verifier_key, *kept]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert sum(line.startswith("ok    ") for line in lines) == 4, done.stdout
    (fail,) = [line for line in lines if line.startswith("FAIL")]
    assert str(log.kept[1]) in fail and f"first {size} leaves" in fail
    assert f"log positions {log.positions[TREE_BATCH]} to {log.positions[-1]}" in fail
    assert f"first difference: at or after log position {log.positions[TREE_BATCH]}" in done.stdout


def test_a_bad_signature_and_a_checkpoint_of_another_key_are_findings(log: Log) -> None:
    (note,) = log.sql("SELECT note FROM tb_log_checkpoints WHERE tree_size = %s", (20,))[0]
    body, signature = note.rstrip("\n").rsplit(" ", 1)
    bent = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    log.sql(
        "UPDATE tb_log_checkpoints SET note = %s WHERE tree_size = %s", (f"{body} {bent}\n", 20)
    )
    key = log.rt.log_tree.key
    head = log.rt.log_tree.head()
    other = SigningKey(os.urandom(32), key.name)
    kept = [
        KeptCheckpoint("other key", other.sign(key.name, head.tree_size, head.root)),
        KeptCheckpoint("longer", key.sign(key.name, head.tree_size + 5, head.root)),
    ]
    report = log.audit(kept)
    longer = f"longer signs {head.tree_size + 5} leaves, the log holds {head.tree_size} events"
    found = {(f.kind, f.message.split(":")[0]) for f in report.findings}
    assert found == {
        ("checkpoint-signature", "stored checkpoint of 20 leaves"),
        ("kept-signature", "kept checkpoint other key"),
        ("kept-beyond-log", f"kept checkpoint {longer}"),
    }


def test_a_verifier_key_is_read_back_and_a_wrong_one_refused(log: Log) -> None:
    key = log.rt.log_tree.key
    assert parse_verifier_key(key.verifier_key) == VerifierKey.of(key)
    name, key_id, encoded = key.verifier_key.split("+", 2)
    for wrong in (f"{name}+00000000+{encoded}", f"{name}+{key_id}+AAAA", "nothing"):
        with pytest.raises(ValueError):
            parse_verifier_key(wrong)
