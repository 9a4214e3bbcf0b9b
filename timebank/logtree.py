"""The event log as a Merkle tree (RFC 9162), built behind the log like a read model, and its
signed checkpoints.

Every stored event is a leaf, in log order: the n-th event of the log (by position) is leaf
n - 1, whatever gaps the positions have (docs/log-format.md). The builder reads the stored
records as the store keeps them, hashes their canonical encoding (`encode_leaf`) and stores
every complete subtree's hash, each leaf's log position, and the tree's size, last position
and root, all in one transaction per batch: a crash leaves a rolled-back batch and nothing
else, and a proof reads O(log n) stored hashes. It never runs on the write path: commands only
wake it. Two builders on one store are safe: each batch locks the tree's row and applies only
if the tree is still where the batch was read from."""

import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.persistence import Notification

from ledger.commands.permissions import require_role
from ledger.context import Actor, Role
from ledger.errors import Invalid, NotFound
from projections.db import Cursor, Database, insert_rows, utc_text
from projections.runner import STOP_SECONDS
from timebank import merkle
from timebank.checkpoints import SigningKey

log = structlog.get_logger(__name__)

TREE = "log"  # the name of the tree's row
# Stored hashes asked for in one statement: a proof needs about 2 log2(n), and a statement's
# parameters stay far below SQLite's limit.
NODES_PER_QUERY = 200


def encode_leaf(originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The canonical bytes of a stored event (docs/log-format.md): the aggregate's id (16
    bytes), its version (8 bytes, big-endian), the topic (4-byte big-endian length, UTF-8) and
    the state as stored (4-byte big-endian length, the bytes)."""
    topic_bytes = topic.encode()
    return b"".join(
        (
            originator_id.bytes,
            struct.pack(">Q", version),
            struct.pack(">I", len(topic_bytes)),
            topic_bytes,
            struct.pack(">I", len(state)),
            state,
        )
    )


def _originator(n: Notification) -> UUID:
    originator = n.originator_id
    return originator if isinstance(originator, UUID) else UUID(str(originator))


def notification_leaf(n: Notification) -> bytes:
    return encode_leaf(_originator(n), n.originator_version, n.topic, bytes(n.state))


class LogReader(Protocol):
    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Sequence[Notification]: ...


@dataclass(frozen=True)
class TreeHead:
    tree_size: int
    position: int  # the log position of the last leaf; 0 for the empty tree
    root: bytes


EMPTY = TreeHead(0, 0, merkle.empty_root())


@dataclass(frozen=True)
class Entry:
    leaf_index: int
    position: int
    originator_id: UUID
    version: int
    topic: str
    state: bytes

    @property
    def leaf(self) -> bytes:
        return encode_leaf(self.originator_id, self.version, self.topic, self.state)


@dataclass(frozen=True)
class StoredCheckpoint:
    tree_size: int
    root: bytes
    note: str
    signed_at: str


class NotInTree(NotFound):
    """A leaf or a tree size the built tree does not (yet) hold."""

    def __init__(self, detail: str) -> None:
        super().__init__("not-in-tree", detail)


def _head(cur: Cursor, lock: bool = False) -> TreeHead:
    suffix = " FOR UPDATE" if lock else ""
    cur.execute(
        "SELECT tree_size, position, root FROM tb_log_tree WHERE name = %s" + suffix, (TREE,)
    )
    row = cur.fetchone()
    return EMPTY if row is None else TreeHead(int(row[0]), int(row[1]), bytes(row[2]))


def _frontier(cur: Cursor, size: int) -> dict[int, bytes]:
    """The complete subtrees along the right edge of a tree of `size` leaves, by level: the
    only stored hashes a new leaf combines with."""
    keys = [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]
    found = _nodes(cur, keys)
    return {level: found[(level, index)] for level, index in keys}


def _nodes(cur: Cursor, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    found: dict[tuple[int, int], bytes] = {}
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), NODES_PER_QUERY):
        chunk = wanted[start : start + NODES_PER_QUERY]
        where = " OR ".join(["(level = %s AND node_index = %s)"] * len(chunk))
        cur.execute(
            f"SELECT level, node_index, hash FROM tb_log_nodes WHERE {where}",
            [value for key in chunk for value in key],
        )
        for level, index, digest in cur.fetchall():
            found[(int(level), int(index))] = bytes(digest)
    return found


def _root(frontier: dict[int, bytes]) -> bytes:
    if not frontier:
        return merkle.empty_root()
    return merkle.fold([frontier[level] for level in sorted(frontier, reverse=True)])


class LogTree:
    """Builds the tree behind the log, signs checkpoints, and answers the proofs."""

    def __init__(
        self,
        log_reader: LogReader,
        db: Database,
        key: SigningKey,
        origin: str,
        batch_size: int = 5000,
        checkpoint_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log_reader = log_reader
        self.db = db
        self.key = key
        self.origin = origin
        self.batch_size = batch_size
        self.checkpoint_seconds = checkpoint_seconds
        self._clock = clock
        self._signed_at: float | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.built = EMPTY  # what this process last saw committed
        self.last_error: str | None = None

    # Building ------------------------------------------------------------------------------

    def head(self) -> TreeHead:
        with self.db.read() as cur:
            return _head(cur)

    def build_batch(self) -> int:
        """Appends the next batch of events to the tree in one transaction; returns how many."""
        while True:
            start = self.head()
            notifications = self.log_reader.select_notifications(
                start=start.position + 1, limit=self.batch_size
            )
            if not notifications:
                self.built = start
                return 0
            with self.db.transaction() as cur:
                # SQLite's write transactions exclude each other already.
                head = _head(cur, lock=not self.db.is_sqlite)
                if head == start:
                    self.built = self._append(cur, head, notifications)
                    return len(notifications)
            # Another builder moved the tree meanwhile: read on from where it is.

    def _append(
        self, cur: Cursor, head: TreeHead, notifications: Sequence[Notification]
    ) -> TreeHead:
        frontier = _frontier(cur, head.tree_size)
        size = head.tree_size
        nodes: list[tuple[int, int, bytes]] = []
        leaves: list[tuple[int, int]] = []
        for n in notifications:
            digest = merkle.leaf_hash(notification_leaf(n))
            level, index = 0, size
            nodes.append((0, index, digest))
            while index & 1:
                digest = merkle.node_hash(frontier.pop(level), digest)
                level, index = level + 1, index >> 1
                nodes.append((level, index, digest))
            frontier[level] = digest
            leaves.append((size, n.id))
            size += 1
        insert_rows(cur, "tb_log_nodes", ("level", "node_index", "hash"), nodes)
        insert_rows(cur, "tb_log_leaves", ("leaf_index", "position"), leaves)
        built = TreeHead(size, notifications[-1].id, _root(frontier))
        cur.execute(
            "INSERT INTO tb_log_tree (name, tree_size, position, root) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET tree_size = excluded.tree_size, "
            "position = excluded.position, root = excluded.root",
            (TREE, built.tree_size, built.position, built.root),
        )
        return built

    def catch_up(self) -> TreeHead:
        while self.build_batch():
            pass
        return self.built

    # Checkpoints ---------------------------------------------------------------------------

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self.db.read() as cur:
            cur.execute(
                "SELECT tree_size, root, note, signed_at FROM tb_log_checkpoints "
                "ORDER BY tree_size DESC LIMIT 1"
            )
            row = cur.fetchone()
        if row is None:
            return None
        return StoredCheckpoint(int(row[0]), bytes(row[1]), str(row[2]), str(row[3]))

    def sign_checkpoint(self) -> StoredCheckpoint | None:
        """Signs the tree as built, unless the latest checkpoint already covers it."""
        head = self.head()
        latest = self.latest_checkpoint()
        if head.tree_size == 0 or (latest is not None and latest.tree_size >= head.tree_size):
            return None
        note = self.key.sign(self.origin, head.tree_size, head.root)
        signed = StoredCheckpoint(head.tree_size, head.root, note, utc_text(datetime.now(UTC)))
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO tb_log_checkpoints (tree_size, root, note, signed_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (tree_size) DO NOTHING",
                (signed.tree_size, signed.root, signed.note, signed.signed_at),
            )
        self._signed_at = self._clock()
        return signed

    def _until_checkpoint_due(self) -> float:
        if self._signed_at is None:
            return 0.0
        return self.checkpoint_seconds - (self._clock() - self._signed_at)

    # Following -----------------------------------------------------------------------------

    def poke(self, _position: int = 0) -> None:
        """Called after a commit in this process: follow at once instead of at the next poll."""
        self._wake.set()

    def start(self, poll_seconds: float) -> None:
        self._thread = threading.Thread(
            target=self._follow, args=(poll_seconds,), name="log-tree", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_SECONDS)

    def _follow(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            wait = poll_seconds
            try:
                appended = self.build_batch()
                # Between batches too: a log that keeps growing is still signed on time.
                due_in = self._until_checkpoint_due()
                if due_in <= 0:
                    self.sign_checkpoint()
                    due_in = self.checkpoint_seconds
                self.last_error = None
                if appended:
                    continue
                wait = min(wait, due_in)
            except Exception as e:  # the store: tried again at the next poll, logged once
                if str(e) != self.last_error:
                    log.exception("building the log's tree failed")
                self.last_error = str(e)
            self._wake.wait(wait)
            self._wake.clear()

    # Proofs --------------------------------------------------------------------------------

    def _stored_ranges(self, cur: Cursor, ask: Callable[[merkle.RangeHash], Any]) -> Any:
        """Runs `ask` over the stored tree: first to learn which complete subtrees it needs
        (the proofs' shape does not depend on the hashes), then, with them read in one
        query, for real."""
        wanted: list[tuple[int, int]] = []

        def record(start: int, end: int) -> bytes:
            wanted.extend(merkle.complete_subtrees(start, end))
            return b""

        ask(record)
        found = _nodes(cur, wanted)

        def stored(start: int, end: int) -> bytes:
            return merkle.fold([found[key] for key in merkle.complete_subtrees(start, end)])

        return ask(stored)

    def _checked_size(self, cur: Cursor, tree_size: int) -> None:
        built = _head(cur).tree_size
        if tree_size > built:
            raise NotInTree(f"the tree holds {built} leaves, not {tree_size}")

    def leaf_index(self, position: int) -> int:
        with self.db.read() as cur:
            return self._leaf_index(cur, position)

    def _leaf_index(self, cur: Cursor, position: int) -> int:
        cur.execute("SELECT leaf_index FROM tb_log_leaves WHERE position = %s", (position,))
        row = cur.fetchone()
        if row is None:
            raise NotInTree(f"no event at log position {position} is in the tree yet")
        return int(row[0])

    def inclusion(self, position: int, tree_size: int) -> tuple[int, bytes, list[bytes]]:
        """The leaf index of the event at log `position`, its leaf hash and its inclusion
        proof in the tree of `tree_size` leaves."""
        with self.db.read() as cur:
            self._checked_size(cur, tree_size)
            index = self._leaf_index(cur, position)
            if index >= tree_size:
                raise NotInTree(f"log position {position} is leaf {index}, not in {tree_size}")
            leaf = _nodes(cur, [(0, index)])[(0, index)]
            proof: list[bytes] = self._stored_ranges(
                cur, lambda ranges: merkle.inclusion_proof(index, tree_size, ranges)
            )
        return index, leaf, proof

    def consistency(self, first: int, second: int) -> list[bytes]:
        if first > second:
            raise Invalid("tree-sizes", f"a tree of {first} leaves is no prefix of one of {second}")
        with self.db.read() as cur:
            self._checked_size(cur, second)
            proof: list[bytes] = self._stored_ranges(
                cur, lambda ranges: merkle.consistency_proof(first, second, ranges)
            )
        return proof

    def root(self, tree_size: int) -> bytes:
        with self.db.read() as cur:
            self._checked_size(cur, tree_size)
            root: bytes = self._stored_ranges(cur, lambda ranges: merkle.root(tree_size, ranges))
        return root

    def read_entries(self, actor: Actor, position: int, limit: int) -> list[Entry]:
        """`entries` for an auditor or an admin: entries tell who served where and when."""
        require_role(actor, Role.AUDITOR)
        return self.entries(position, limit)

    def entries(self, position: int, limit: int) -> list[Entry]:
        """The events of the tree from log `position` on, at most `limit`, in log order."""
        with self.db.read() as cur:
            cur.execute(
                "SELECT leaf_index, position FROM tb_log_leaves WHERE position >= %s "
                "ORDER BY leaf_index LIMIT %s",
                (position, limit),
            )
            leaves = [(int(index), int(at)) for index, at in cur.fetchall()]
        if not leaves:
            return []
        records = {
            n.id: n
            for n in self.log_reader.select_notifications(
                start=leaves[0][1], limit=len(leaves), stop=leaves[-1][1]
            )
        }
        entries = []
        for index, at in leaves:
            n = records[at]
            originator = n.originator_id
            uuid = originator if isinstance(originator, UUID) else UUID(str(originator))
            entries.append(Entry(index, at, uuid, n.originator_version, n.topic, bytes(n.state)))
        return entries
