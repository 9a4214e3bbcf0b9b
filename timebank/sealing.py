"""Personal data sealed at rest under a key of the volunteer it belongs to, so that erasing a
volunteer is destroying one key (crypto-shredding) and the log itself is never edited.

The fields are those `ledger/privacy.py` declares. The mapper (the event library's
`MAPPER_TOPIC`) seals each of them, as it writes an event or a snapshot, with AES-GCM under
the data key of the volunteer the field belongs to, with the volunteer's id and the field's
name as associated data, and opens them as it reads: a field whose key has been destroyed
reads as the erased value the domain declares for it. Data keys are random, kept in a table
of their own (tb_data_keys), wrapped (AES-GCM) by the master key; destroying one overwrites
its row. Fields written before sealing existed are read as they are."""

import base64
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from ledger.privacy import PERSONAL_EVENTS, PERSONAL_STATES, Personal
from ledger.volunteers import Volunteer
from projections.db import Database
from timebank.keyfiles import SecretFileError, secret_file
from timebank.settings import Settings

SEALED = "_sealed_"  # the one key of a sealed field: nonce and ciphertext in base64
NONCE_BYTES = 12
KEY_BYTES = 32
MASTER_KEY_MIN_BYTES = 32
# A key opened in one process is kept in its memory this long: another process that destroys
# it is then honoured here within this time (this process forgets it at once).
KEY_CACHE_SECONDS = 10.0
KEY_CACHE_SIZE = 100_000
REGISTERED_TOPIC = get_topic(Volunteer.Registered)

_EVENT_TOPICS = {get_topic(cls): personal for cls, personal in PERSONAL_EVENTS.items()}
_STATE_TOPICS = {get_topic(cls): personal for cls, personal in PERSONAL_STATES.items()}
_SNAPSHOT_TOPIC = get_topic(Snapshot)


def load_master_key(settings: Settings) -> bytes:
    """The 256-bit key that wraps the data keys, derived from the content of
    TIMEBANK_MASTER_KEY_FILE; with none, SQLite uses one generated beside its database on
    first use, and PostgreSQL (many processes, backups kept apart) refuses to start."""
    secret = secret_file(
        settings.master_key_file,
        settings.store,
        "masterkey",
        "PostgreSQL needs a master key: set TIMEBANK_MASTER_KEY_FILE to a file holding "
        f"a random secret of {MASTER_KEY_MIN_BYTES} characters or more",
        "master key",
    )
    if len(secret) < MASTER_KEY_MIN_BYTES:
        raise SecretFileError(
            "the master key (TIMEBANK_MASTER_KEY_FILE, or <database>.masterkey) is too short: "
            f"{MASTER_KEY_MIN_BYTES} characters or more"
        )
    kdf = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=b"timebank data keys")
    return kdf.derive(secret)


def _wrapping_data(subject_id: UUID) -> bytes:
    return b"timebank data key:" + subject_id.bytes


class KeyStore:
    """The volunteers' data keys (`ledger.engine.keys.DataKeys`): made on a volunteer's first
    sealed field, kept wrapped by the master key, destroyed for good on erasure."""

    def __init__(
        self, db: Database, master_key: bytes, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._master = AESGCM(master_key)
        self._clock = clock
        # subject -> (cipher, or None once destroyed; when a live key is to be read again)
        self._cache: OrderedDict[UUID, tuple[AESGCM | None, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check_master_key(self) -> None:
        """Refuses a master key that does not open the store's data keys (a wrong file would
        otherwise make every personal field unreadable, and new ones sealed apart)."""
        with self._db.read() as cur:
            cur.execute(
                "SELECT subject_id, wrapped FROM tb_data_keys WHERE wrapped IS NOT NULL LIMIT 1"
            )
            row = cur.fetchone()
        if row is None:
            return
        try:
            self._unwrap(UUID(row[0]), row[1])
        except InvalidTag:
            raise SecretFileError(
                "the master key does not open this store's data keys: "
                "TIMEBANK_MASTER_KEY_FILE must be the one the store was written with"
            ) from None

    def for_sealing(self, subject_id: UUID) -> AESGCM | None:
        """The subject's cipher, its key made now if it has none; None once destroyed."""
        found, cipher = self._lookup(subject_id)
        if found:
            return cipher
        key = os.urandom(KEY_BYTES)
        nonce = os.urandom(NONCE_BYTES)
        wrapped = nonce + self._master.encrypt(nonce, key, _wrapping_data(subject_id))
        # Not waited onto disk: the event sealed with it commits after it, durably, and a
        # durable commit (PostgreSQL's WAL, SQLite's) holds everything logged before it.
        with self._db.transaction(durable=False) as cur:
            cur.execute(
                "INSERT INTO tb_data_keys (subject_id, wrapped, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (subject_id) DO NOTHING RETURNING subject_id",
                (str(subject_id), base64.b64encode(wrapped).decode(), _now()),
            )
            made = cur.fetchone() is not None
        if not made:  # another process was first
            return self._lookup(subject_id)[1]
        return self._remember(subject_id, AESGCM(key))

    def for_opening(self, subject_id: UUID) -> AESGCM | None:
        """The subject's cipher; None once destroyed (or never made: nothing was sealed)."""
        return self._lookup(subject_id)[1]

    def destroy(self, subject_id: UUID) -> bool:
        """Overwrites the subject's key, and keeps a row saying it is destroyed, so that no
        key is ever made for the subject again; True when this call destroyed it."""
        with self._db.transaction() as cur:
            cur.execute(
                "INSERT INTO tb_data_keys (subject_id, wrapped, created_at, destroyed_at) "
                "VALUES (%s, NULL, %s, %s) ON CONFLICT (subject_id) DO UPDATE "
                "SET wrapped = NULL, destroyed_at = excluded.destroyed_at "
                "WHERE tb_data_keys.destroyed_at IS NULL",
                (str(subject_id), _now(), _now()),
            )
            destroyed: bool = cur.rowcount == 1
        self._remember(subject_id, None)
        return destroyed

    def destroyed(self, subject_id: UUID) -> bool:
        with self._db.read() as cur:
            cur.execute(
                "SELECT destroyed_at FROM tb_data_keys WHERE subject_id = %s", (str(subject_id),)
            )
            row = cur.fetchone()
        return row is not None and row[0] is not None

    def close(self) -> None:
        self._db.close()

    def _lookup(self, subject_id: UUID) -> tuple[bool, AESGCM | None]:
        """Whether the subject has a key row, and its cipher (None once destroyed)."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(subject_id)
            if cached is not None and cached[1] > now:
                self._cache.move_to_end(subject_id)
                return True, cached[0]
        with self._db.read() as cur:
            cur.execute(
                "SELECT wrapped FROM tb_data_keys WHERE subject_id = %s", (str(subject_id),)
            )
            row = cur.fetchone()
        if row is None:
            return False, None
        return True, self._remember(
            subject_id, None if row[0] is None else self._unwrap(subject_id, row[0])
        )

    def _remember(self, subject_id: UUID, cipher: AESGCM | None) -> AESGCM | None:
        """Keeps a live key for a while, and a destroyed one's absence for good."""
        until = self._clock() + KEY_CACHE_SECONDS if cipher is not None else float("inf")
        with self._lock:
            self._cache[subject_id] = (cipher, until)
            self._cache.move_to_end(subject_id)
            if len(self._cache) > KEY_CACHE_SIZE:
                self._cache.popitem(last=False)
        return cipher

    def _unwrap(self, subject_id: UUID, wrapped_text: str) -> AESGCM:
        wrapped = base64.b64decode(wrapped_text)
        key = self._master.decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrapping_data(subject_id)
        )
        return AESGCM(key)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _field_data(subject_id: UUID, field: str) -> bytes:
    return subject_id.bytes + b"\0" + field.encode()


def is_sealed(value: Any) -> bool:
    return type(value) is dict and value.keys() == {SEALED}


class SealingMapper(Mapper[UUID]):
    """The library's mapper, sealing and opening the personal fields of the events and
    snapshots the domain declares; the runtime gives it the key store."""

    keys: KeyStore | None = None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = dict(vars(domain_event))
        personal, fields = self._personal(get_topic(type(domain_event)), state)
        if personal is None:
            return super().to_stored_event(domain_event)
        sealed = self._sealed(state[personal.subject], fields, personal)
        if fields is state:
            state.update(sealed)
        else:  # a snapshot's state: a copy, the aggregate's own is left as it is
            state["state"] = {**fields, **sealed}
        copy = object.__new__(type(domain_event))
        object.__setattr__(copy, "__dict__", state)
        return super().to_stored_event(copy)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        state = vars(event)
        personal, fields = self._personal(stored_event.topic, state)
        if personal is not None:
            fields.update(self._opened(state[personal.subject], fields, personal))
        return event

    @staticmethod
    def _personal(topic: str, state: dict[str, Any]) -> tuple[Personal | None, dict[str, Any]]:
        """What is personal in an event of `topic`, and the dict holding those fields: the
        event's own, or a snapshot's state."""
        if topic == _SNAPSHOT_TOPIC:
            return _STATE_TOPICS.get(state["topic"]), state["state"]
        return _EVENT_TOPICS.get(topic), state

    def _store(self) -> KeyStore:
        if self.keys is None:
            raise RuntimeError("the mapper was given no KeyStore")
        return self.keys

    def _sealed(
        self, subject_id: UUID, fields: dict[str, Any], personal: Personal
    ) -> dict[str, Any]:
        cipher = self._store().for_sealing(subject_id)
        sealed: dict[str, Any] = {}
        for field, erased in personal.erased.items():
            if cipher is None:  # an erased volunteer's data is not kept at all
                sealed[field] = erased
                continue
            nonce = os.urandom(NONCE_BYTES)
            plain = json.dumps(fields[field], ensure_ascii=False).encode()
            box = nonce + cipher.encrypt(nonce, plain, _field_data(subject_id, field))
            sealed[field] = {SEALED: base64.b64encode(box).decode()}
        return sealed

    def _opened(
        self, subject_id: UUID, fields: dict[str, Any], personal: Personal
    ) -> dict[str, Any]:
        opened: dict[str, Any] = {}
        cipher: AESGCM | None = None
        for field, erased in personal.erased.items():
            value = fields.get(field)
            if value is None or not is_sealed(value):
                continue  # written before sealing, or after the key was destroyed
            cipher = cipher or self._store().for_opening(subject_id)
            if cipher is None:
                opened[field] = erased
                continue
            box = base64.b64decode(value[SEALED])
            plain = cipher.decrypt(
                box[:NONCE_BYTES], box[NONCE_BYTES:], _field_data(subject_id, field)
            )
            opened[field] = json.loads(plain)
        return opened


def registrations_in_plaintext(mapper: Mapper[UUID], recorder: Any) -> bool:
    """True when the log holds a registration written before personal data was sealed: the
    first one is enough, since every later one was written by the same or a newer version."""
    first = recorder.select_notifications(start=None, limit=1, topics=[REGISTERED_TOPIC])
    if not first:
        return False
    return not is_sealed(mapper.transcoder.decode(first[0].state).get("name"))
