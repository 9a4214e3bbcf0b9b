"""Moving a store written before personal data was sealed into a new, empty one that seals it.

The log cannot be edited, so the plaintext cannot be sealed where it lies: every event is read
through the source's mapper (which opens sealed fields and takes plain ones as they are) and
written through the target's (which seals them under fresh data keys), at the position it had,
with its originator id, version, topic and timestamp; the read models the target then builds
are the source's, row for row, which the move checks table by table. Beside the log, the
target takes what the service needs to keep serving the same people: the tokens and the
volunteers' PIN hashes. Not copied: snapshots (the target takes its own), the responses stored
for idempotency keys (sealed under a key the target may not share, and short-lived), the counts
of wrong codes and PINs (a lockout in progress), and the data keys (the target makes its own).

The target must use the source's id pepper (the claims of ID documents are keyed hashes of
it), and uses its own master key. A copy that was interrupted leaves a target whose log is not
empty, which is refused: it is dropped and the move started again."""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent

from projections.db import Database, insert_rows
from timebank.keyfiles import write_secret
from timebank.pepper import PepperError, load_pepper
from timebank.runtime import Runtime
from timebank.settings import Settings

EVENTS_BATCH = 1000  # events read, resealed and written per transaction
ROWS_BATCH = 5000  # rows of a table read (or copied) at a time
DIFFERENCES_SHOWN = 10  # per table; the count says how many there are in all
COPIED_TABLES = ("tb_tokens", "tb_volunteer_pins")
NOT_COPIED = (
    "snapshots (the new store takes its own)",
    "responses stored for idempotency keys",
    "counts of wrong codes and PINs",
    "data keys (the new store makes its own)",
)


class ResealRefused(Exception):
    """The target cannot be filled from the source: nothing has been written to it."""


def share_pepper(source: Settings, target: Settings) -> None:
    """Makes sure the target hashes ID documents with the source's pepper: a SQLite target
    without a configured pepper is given the source's in its `<database>.pepper`; any other
    target must be configured with it, else the move is refused."""
    pepper = load_pepper(source)
    configured = target.id_pepper is not None or target.id_pepper_file is not None
    if target.store.is_sqlite and not configured:
        path = Path(f"{target.store.sqlite_path}.pepper")
        if not path.exists():
            write_secret(path, pepper)
    try:
        theirs = load_pepper(target)
    except PepperError as e:
        raise ResealRefused(
            f"the new store has no usable id pepper ({e}); it must use the old store's, "
            "since the claims of ID documents are keyed hashes of it"
        ) from None
    if theirs != pepper:
        raise ResealRefused(
            "the new store's id pepper is not the old store's: the claims of ID documents are "
            "keyed hashes of it, so the new store must use the same pepper"
        )


@dataclass
class TableCheck:
    """One read-model table of the source against the target's."""

    table: str
    source_rows: int = 0
    target_rows: int = 0
    differences: int = 0
    shown: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return self.differences == 0

    def differ(self, text: str) -> None:
        self.differences += 1
        if len(self.shown) < DIFFERENCES_SHOWN:
            self.shown.append(text)


@dataclass(frozen=True)
class Shape:
    """A table's columns (in the source's order), its primary key, and which key columns are
    text (ordered byte by byte on both stores, so that two stores list rows alike)."""

    columns: tuple[str, ...]
    key: tuple[str, ...]
    text_keys: frozenset[str]


def table_shape(db: Database, table: str) -> Shape:
    with db.read() as cur:
        if db.is_sqlite:
            cur.execute(f'PRAGMA table_info("{table}")')
            info = cur.fetchall()
            columns = tuple(str(r[1]) for r in info)
            keyed = sorted((int(r[5]), str(r[1]), str(r[2]).upper()) for r in info if r[5])
            key = tuple(name for _, name, _ in keyed)
            text = frozenset(name for _, name, kind in keyed if kind == "TEXT")
            return Shape(columns, key, text)
        cur.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            (table,),
        )
        kinds = {str(name): str(kind) for name, kind in cur.fetchall()}
        cur.execute(
            "SELECT k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
            "AND k.table_schema = c.table_schema AND k.table_name = c.table_name "
            "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() "
            "AND c.table_name = %s ORDER BY k.ordinal_position",
            (table,),
        )
        key = tuple(str(r[0]) for r in cur.fetchall())
    text = frozenset(k for k in key if kinds[k] == "text")
    return Shape(tuple(kinds), key, text)


def _normal(value: Any) -> Any:
    """A value as both stores give it: SQLite keeps booleans as 0 and 1."""
    return int(value) if isinstance(value, bool) else value


def table_rows(db: Database, table: str, shape: Shape) -> Iterator[tuple[Any, ...]]:
    """Every row of `table` in the order of its primary key, a page at a time (keyset), as
    tuples of `shape.columns`."""
    names = ", ".join(f'"{c}"' for c in shape.columns)
    order = ", ".join(
        f'"{k}" COLLATE "C"' if not db.is_sqlite and k in shape.text_keys else f'"{k}"'
        for k in shape.key
    )
    key_at = [shape.columns.index(k) for k in shape.key]
    after: list[Any] | None = None
    while True:
        where = ""
        if after is not None:
            where = f"WHERE ({order}) > ({', '.join(['%s'] * len(after))}) "
        with db.read() as cur:
            cur.execute(
                f'SELECT {names} FROM "{table}" {where}ORDER BY {order} LIMIT {ROWS_BATCH}',
                after or (),
            )
            page = [tuple(_normal(v) for v in row) for row in cur.fetchall()]
        yield from page
        if len(page) < ROWS_BATCH:
            return
        after = [page[-1][i] for i in key_at]


def compare_table(source: Database, target: Database, table: str) -> TableCheck:
    """Merges the two tables in key order: every row must be in both, equal."""
    check = TableCheck(table)
    shape = table_shape(source, table)
    theirs = table_shape(target, table)
    if set(theirs.columns) != set(shape.columns) or theirs.key != shape.key:
        check.differ(
            f"columns differ: source {', '.join(shape.columns)}; target {', '.join(theirs.columns)}"
        )
        return check
    key_at = [shape.columns.index(k) for k in shape.key]

    def key_of(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(row[i] for i in key_at)

    mine, other = table_rows(source, table, shape), table_rows(target, table, shape)
    a, b = next(mine, None), next(other, None)
    while a is not None or b is not None:
        if b is None or (a is not None and key_of(a) < key_of(b)):
            assert a is not None
            check.source_rows += 1
            check.differ(f"key {key_of(a)}: only in the source")
            a = next(mine, None)
        elif a is None or key_of(b) < key_of(a):
            check.target_rows += 1
            check.differ(f"key {key_of(b)}: only in the target")
            b = next(other, None)
        else:
            check.source_rows += 1
            check.target_rows += 1
            if a != b:
                changed = [
                    f"{c}: {x!r} / {y!r}"
                    for c, x, y in zip(shape.columns, a, b, strict=True)
                    if x != y
                ]
                check.differ(f"key {key_of(a)}: source / target {'; '.join(changed)}")
            a, b = next(mine, None), next(other, None)
    return check


class Reseal:
    """Fills the empty store of `target` from `source`: the log, then the tables beside it,
    then the target's read models, checked against the source's."""

    def __init__(self, source: Runtime, target: Runtime) -> None:
        self.source = source
        self.target = target

    def refuse_unless_empty(self) -> None:
        held = self.target.recorder.max_notification_id() or 0
        if held:
            raise ResealRefused(
                f"the new store's log is not empty (its last position is {held}): the move "
                "fills an empty store only; if an earlier move was interrupted, drop that "
                "store (its database, or its file and the files beside it) and start again"
            )
        with self.target.db.read() as cur:
            for table in COPIED_TABLES:
                cur.execute(f"SELECT 1 FROM {table} LIMIT 1")
                if cur.fetchone() is not None:
                    raise ResealRefused(f"the new store is not empty: {table} has rows")

    def head(self) -> int:
        return self.source.recorder.max_notification_id() or 0

    def copy_events(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Copies the log up to the head it has when called, batch by batch; returns the
        number of events copied. `progress(position, head)` after each batch."""
        head = self.head()
        opened, sealing = self.source.app.mapper, self.target.app.mapper
        after, copied = 0, 0
        while after < head:
            batch = self.source.recorder.select_notifications(
                start=after, limit=EVENTS_BATCH, stop=head, inclusive_of_start=False
            )
            if not batch:
                break
            # Sealed before the batch is written: a new volunteer's data key is committed in a
            # transaction of its own, which must not wait on the batch's.
            resealed: list[tuple[int, StoredEvent]] = []
            for n in batch:
                state = sealing.to_stored_event(opened.to_domain_event(n)).state
                resealed.append(
                    (n.id, StoredEvent(n.originator_id, n.originator_version, n.topic, state))
                )
            self.target.recorder.insert_at_positions(resealed)
            after = batch[-1].id
            copied += len(batch)
            if progress is not None:
                progress(after, head)
        return copied

    def copy_tables(self) -> dict[str, int]:
        """Copies the tokens and the PIN hashes; returns the rows copied, by table."""
        copied: dict[str, int] = {}
        for table in COPIED_TABLES:
            shape = table_shape(self.source.db, table)
            rows = table_rows(self.source.db, table, shape)
            copied[table] = 0
            while page := _take(rows, ROWS_BATCH):
                with self.target.db.transaction() as cur:
                    insert_rows(cur, table, shape.columns, page)
                copied[table] += len(page)
        return copied

    def catch_up(self) -> None:
        """Both stores' read models up to their heads (the source's may lag behind its log)."""
        self.source.runner.catch_up()
        self.target.runner.catch_up()

    def read_model_tables(self) -> list[str]:
        return [table for p in self.source.runner.projections for table in p.tables]

    def compare(self) -> Iterator[TableCheck]:
        """Every read-model table of the target against the source's, in the projections'
        order."""
        for table in self.read_model_tables():
            yield compare_table(self.source.db, self.target.db, table)


def _take(rows: Iterator[tuple[Any, ...]], n: int) -> Sequence[tuple[Any, ...]]:
    page = []
    for row in rows:
        page.append(row)
        if len(page) == n:
            break
    return page
