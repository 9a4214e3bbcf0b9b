"""The audit of the log: the Merkle tree recomputed from the stored events, in one pass, and
compared with the stored tree, the stored signed checkpoints and the checkpoints kept outside.

It needs read access to the store and the log's public key, nothing else: no master key, no
id pepper, no migrations (an auditor's account may only read). The stored tree and the
stored checkpoints are the operator's word; a checkpoint kept outside is the evidence an
operator cannot rewrite: one who changed the log, rebuilt the tree tables to match and signed
new checkpoints passes every stored check, and fails the kept checkpoint that covers the
change (docs/log-format.md, Audit)."""

import base64
import hashlib
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.persistence import InfrastructureFactory, Notification
from eventsourcing.utils import Environment

from ledger.engine.service import TimebankApplication
from projections.db import Database
from timebank import merkle, verifier
from timebank.checkpoints import SigningKey, verify_note
from timebank.eventstore import PostgresLedgerRecorder, SQLiteLedgerRecorder
from timebank.logtree import TREE, LogReader, encode_leaf
from timebank.runtime import eventsourcing_env, open_database
from timebank.settings import Settings

BATCH_EVENTS = 10_000
READ_AHEAD = 2  # batches read while one is hashed


@dataclass(frozen=True)
class VerifierKey:
    """The log's public key and the name it signs as (the log's origin)."""

    name: str
    public_key: bytes

    @classmethod
    def of(cls, key: SigningKey) -> "VerifierKey":
        return cls(key.name, key.public_key)


def parse_verifier_key(text: str) -> VerifierKey:
    """A C2SP verifier key, `<name>+<key id hex>+base64(0x01 || public key)`; ValueError if it
    is not one, or its key id is not its name's and key's."""
    return VerifierKey(*verifier.parse_verifier_key(text))


@dataclass(frozen=True)
class KeptCheckpoint:
    """A signed note kept outside the store, as GET /v1/log/checkpoint served it."""

    label: str  # where it was kept, e.g. its file
    note: str


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    leaf_index: int | None = None
    position: int | None = None  # the log position it names (the first of a range)
    exact: bool = True  # False: the difference lies at `position` or after it


@dataclass
class Check:
    name: str
    detail: str  # what was checked
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.findings


@dataclass
class AuditReport:
    events: int  # the stored events, the leaves recomputed
    root: bytes  # the recomputed root of them all
    checks: list[Check]

    @property
    def findings(self) -> list[Finding]:
        return [f for check in self.checks for f in check.findings]

    @property
    def passed(self) -> bool:
        return not self.findings

    @property
    def first_difference(self) -> Finding | None:
        """The finding that names the earliest log position that differs: of those that
        name it exactly, the earliest; else the range that starts latest (every kept
        checkpoint that matches rules out the leaves it signs)."""
        exact = [f for f in self.findings if f.position is not None and f.exact]
        if exact:
            return min(exact, key=lambda f: f.position or 0)
        ranges = [f for f in self.findings if f.position is not None]
        return max(ranges, key=lambda f: f.position or 0, default=None)


@dataclass(frozen=True)
class _Signed:
    """A checkpoint whose note verified: its size and root."""

    label: str
    tree_size: int
    root: bytes


@dataclass
class _Pass:
    """What one pass over the stored events gives."""

    events: int = 0
    root: bytes = merkle.empty_root()
    roots: dict[int, bytes] = field(default_factory=dict)  # at the sizes asked for
    last_positions: dict[int, int] = field(default_factory=dict)  # of leaf size - 1
    first_leaf_difference: Finding | None = None


def _stored_leaves(db: Database, start: int, end: int) -> dict[int, tuple[int, bytes | None]]:
    """Leaves [start, end) of the stored tree: their log position and stored leaf hash."""
    with db.read() as cur:
        cur.execute(
            "SELECT l.leaf_index, l.position, n.hash FROM tb_log_leaves l "
            "LEFT JOIN tb_log_nodes n ON n.level = 0 AND n.node_index = l.leaf_index "
            "WHERE l.leaf_index >= %s AND l.leaf_index < %s",
            (start, end),
        )
        return {
            int(index): (int(position), None if digest is None else bytes(digest))
            for index, position, digest in cur.fetchall()
        }


def _leaf_difference(
    index: int, stored: tuple[int, bytes | None] | None, position: int, digest: bytes
) -> Finding | None:
    if stored is None or stored[1] is None:
        return Finding(
            "tree-incomplete",
            f"leaf {index} (log position {position}) is missing from the stored tree",
            index,
            position,
        )
    stored_position, stored_digest = stored
    if stored_position == position:
        if stored_digest == digest:
            return None
        return Finding(
            "changed",
            f"leaf {index}, the event at log position {position}, is not the event the tree "
            "was built from: changed, replaced or moved",
            index,
            position,
        )
    if position > stored_position:
        return Finding(
            "deleted",
            f"leaf {index}: the event at log position {stored_position} is gone "
            f"(the log's next event is at {position})",
            index,
            stored_position,
        )
    return Finding(
        "inserted",
        f"leaf {index}: the event at log position {position} is not in the stored tree, "
        f"whose leaf {index} is at position {stored_position}",
        index,
        position,
    )


Batch = tuple[Sequence[Notification], dict[int, tuple[int, bytes | None]]]


def _read_ahead(
    reader: LogReader, db: Database, tree_size: int, batch_size: int
) -> Iterator[Batch]:
    """The events in log order, a batch at a time, each with the stored leaves it is compared
    with; read one batch ahead in a thread of its own, so that waiting for the store overlaps
    with hashing (the hashing holds the interpreter, the reads mostly wait on the socket)."""
    ahead: queue.Queue[Batch | BaseException | None] = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()

    def put(item: Batch | BaseException | None) -> None:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read() -> None:
        try:
            start, size = 1, 0
            while not stop.is_set():
                batch = reader.select_notifications(start=start, limit=batch_size)
                if not batch:
                    break
                end = min(size + len(batch), tree_size)
                put((batch, _stored_leaves(db, size, end) if size < end else {}))
                start, size = batch[-1].id + 1, size + len(batch)
            put(None)
        except BaseException as e:
            put(e)

    thread = threading.Thread(target=read, name="audit-read", daemon=True)
    thread.start()
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _recompute(
    reader: LogReader,
    db: Database,
    tree_size: int,
    sizes: set[int],
    batch_size: int,
    progress: Callable[[int], None],
) -> _Pass:
    """Hashes every stored event, in log order, into the tree (its right edge only), and
    compares each leaf with the stored tree's until the first that differs."""
    done = _Pass()
    targets = sorted(s for s in sizes if s > 0)
    if 0 in sizes:
        done.roots[0] = merkle.empty_root()
    wanted = iter(targets)
    next_size = next(wanted, 0)
    sha256 = hashlib.sha256
    node = merkle.node_hash
    edge: list[bytes] = []  # the complete subtrees along the right edge, largest first
    size = 0
    comparing = tree_size > 0
    for batch, stored in _read_ahead(reader, db, tree_size, batch_size):
        for n in batch:
            originator = n.originator_id
            if not isinstance(originator, UUID):
                originator = UUID(str(originator))
            leaf = encode_leaf(originator, n.originator_version, n.topic, bytes(n.state))
            digest = sha256(merkle.LEAF_PREFIX + leaf).digest()
            if comparing:
                kept = stored.get(size)
                if size >= tree_size:
                    comparing = False
                elif kept is None or kept[0] != n.id or kept[1] != digest:
                    done.first_leaf_difference = _leaf_difference(size, kept, n.id, digest)
                    comparing = False
            edge.append(digest)
            index = size
            while index & 1:
                right = edge.pop()
                edge[-1] = node(edge[-1], right)
                index >>= 1
            size += 1
            if size == next_size:
                done.roots[size] = merkle.fold(edge)
                done.last_positions[size] = n.id
                next_size = next(wanted, 0)
        progress(batch[-1].id)
    done.events = size
    done.root = merkle.fold(edge) if edge else merkle.empty_root()
    if comparing and size < tree_size:
        stored_after = _stored_leaves(db, size, size + 1).get(size)
        position = stored_after[0] if stored_after else None
        done.first_leaf_difference = Finding(
            "deleted",
            f"the log ends after {size} events; the stored tree holds {tree_size} leaves",
            size,
            position,
        )
    return done


def _stored_head(db: Database) -> tuple[int, int, bytes] | None:
    with db.read() as cur:
        cur.execute("SELECT tree_size, position, root FROM tb_log_tree WHERE name = %s", (TREE,))
        row = cur.fetchone()
    return None if row is None else (int(row[0]), int(row[1]), bytes(row[2]))


def _stored_checkpoints(db: Database) -> list[tuple[int, bytes, str]]:
    with db.read() as cur:
        cur.execute("SELECT tree_size, root, note FROM tb_log_checkpoints ORDER BY tree_size")
        return [(int(size), bytes(root), str(note)) for size, root, note in cur.fetchall()]


def _verified(
    label: str, note: str, key: VerifierKey, origin: str, kind: str
) -> tuple[_Signed | None, Finding | None]:
    try:
        checkpoint = verify_note(note, key.name, key.public_key)
    except ValueError as e:
        return None, Finding(f"{kind}-signature", f"{label}: {e}")
    if checkpoint.origin != origin:
        return None, Finding(
            f"{kind}-origin", f"{label}: its origin is {checkpoint.origin!r}, not {origin!r}"
        )
    return _Signed(label, checkpoint.tree_size, checkpoint.root), None


def _against_log(signed: _Signed, done: _Pass, kind: str) -> Finding | None:
    """Whether a verified checkpoint's root is that of the first leaves of the log."""
    if signed.tree_size > done.events:
        return Finding(
            f"{kind}-beyond-log",
            f"{signed.label} signs {signed.tree_size} leaves, the log holds {done.events} "
            "events: the log was truncated",
            done.events,
        )
    if done.roots[signed.tree_size] != signed.root:
        return Finding(
            f"{kind}-root",
            f"{signed.label} signs a root of the first {signed.tree_size} leaves that the "
            "stored events do not give",
        )
    return None


def _check_stored_tree(done: _Pass, head: tuple[int, int, bytes] | None) -> Check:
    size = 0 if head is None else head[0]
    check = Check(
        "stored tree",
        f"{min(size, done.events)} leaves compared with the events' leaf hashes and positions",
    )
    if done.first_leaf_difference is not None:
        check.findings.append(done.first_leaf_difference)
    elif head is not None and size <= done.events:
        _, position, root = head
        if done.roots.get(size) != root or (size and done.last_positions[size] != position):
            check.findings.append(
                Finding(
                    "tree-head",
                    f"the stored tree's head (size {size}, position {position}) is not the "
                    "tree of the events it names",
                )
            )
    return check


def _check_stored_checkpoints(
    stored: list[tuple[int, bytes, str]], done: _Pass, key: VerifierKey, origin: str
) -> Check:
    check = Check(
        "stored checkpoints",
        f"{len(stored)} signed by {key.name}, each the recomputed root at its size, so each "
        "is consistent with the next",
    )
    for size, root, note in stored:
        label = f"stored checkpoint of {size} leaves"
        signed, wrong = _verified(label, note, key, origin, "checkpoint")
        if wrong is not None:
            check.findings.append(wrong)
            continue
        assert signed is not None
        if (signed.tree_size, signed.root) != (size, root):
            check.findings.append(
                Finding(
                    "checkpoint-row",
                    f"{label}: its note signs another tree ({signed.tree_size} leaves, "
                    f"root {base64.b64encode(signed.root).decode()}) than its row holds",
                )
            )
            continue
        differs = _against_log(signed, done, "checkpoint")
        if differs is not None:
            check.findings.append(differs)
    return check


def _check_kept(
    label: str,
    signed: _Signed | None,
    wrong: Finding | None,
    matching: list[_Signed],
    done: _Pass,
    reader: LogReader,
) -> Check:
    check = Check(f"kept checkpoint {label}", "")
    if wrong is not None:
        check.detail = "its signature and origin"
        check.findings.append(wrong)
        return check
    assert signed is not None
    check.detail = f"{signed.tree_size} leaves, root {base64.b64encode(signed.root).decode()}"
    differs = _against_log(signed, done, "kept")
    if differs is None or differs.kind != "kept-root":
        check.findings.extend([differs] if differs else [])
        return check
    # Leaves up to the largest kept checkpoint that matches are as they were signed: the
    # first difference lies after them, within this checkpoint's leaves.
    below = max((m.tree_size for m in matching if m.tree_size < signed.tree_size), default=0)
    first = _position_of_leaf(below, done, reader)
    last = done.last_positions[signed.tree_size]
    check.findings.append(
        Finding(
            "kept-root",
            f"{differs.message}: the log differs from it within leaves {below} to "
            f"{signed.tree_size - 1} (log positions {first} to {last}); the largest kept "
            f"checkpoint that matches signs {below} leaves",
            below,
            first,
            exact=False,
        )
    )
    return check


def _position_of_leaf(index: int, done: _Pass, reader: LogReader) -> int:
    after = done.last_positions.get(index, 0) if index else 0
    following = reader.select_notifications(start=after + 1, limit=1)
    return following[0].id if following else after + 1


def audit(
    reader: LogReader,
    db: Database,
    key: VerifierKey,
    kept: Sequence[KeptCheckpoint] = (),
    origin: str | None = None,
    batch_size: int = BATCH_EVENTS,
    progress: Callable[[int], None] = lambda _position: None,
) -> AuditReport:
    """Recomputes the tree from the events `reader` gives, and checks against it the stored
    tree, the stored checkpoints and the `kept` ones, signed by `key` for `origin` (the key's
    name when none is given). `progress` is told the log position reached after each batch."""
    origin = key.name if origin is None else origin
    head = _stored_head(db)
    stored = _stored_checkpoints(db)
    kept_verified = [
        (k.label, *_verified(f"kept checkpoint {k.label}", k.note, key, origin, "kept"))
        for k in kept
    ]
    sizes = {size for size, _, _ in stored}
    sizes |= {s.tree_size for _, s, _ in kept_verified if s is not None}
    if head is not None:
        sizes.add(head[0])
    done = _recompute(reader, db, 0 if head is None else head[0], sizes, batch_size, progress)
    checks = [
        Check("log", f"{done.events} events hashed into a tree of root {done.root.hex()}"),
        _check_stored_tree(done, head),
        _check_stored_checkpoints(stored, done, key, origin),
    ]
    matching = [
        s for _, s, _ in kept_verified if s is not None and _against_log(s, done, "kept") is None
    ]
    for label, signed, wrong in kept_verified:
        checks.append(_check_kept(label, signed, wrong, matching, done, reader))
    return AuditReport(done.events, done.root, checks)


Recorder = SQLiteLedgerRecorder | PostgresLedgerRecorder


@contextmanager
def open_store(settings: Settings) -> Iterator[tuple[Recorder, Database]]:
    """The store's event log and its tables, opened to read only: no table is created, no
    migration runs, and no key but the public one is needed."""
    env = eventsourcing_env(settings) | {"CREATE_TABLE": "n", "POSTGRES_POOL_SIZE": "1"}
    factory = InfrastructureFactory.construct(Environment(TimebankApplication.name, env))
    db = open_database(settings, pool_size=1)
    try:
        recorder = factory.application_recorder()
        assert isinstance(recorder, SQLiteLedgerRecorder | PostgresLedgerRecorder)
        yield recorder, db
    finally:
        db.close()
        factory.close()
