"""The engine's view of the volunteers' data keys (timebank/sealing.py keeps them): personal
fields are sealed at rest under a key of the volunteer they belong to, and erasing a
volunteer destroys that key, after which those fields read as erased."""

from typing import Protocol
from uuid import UUID


class DataKeys(Protocol):
    def destroy(self, subject_id: UUID) -> bool:
        """Destroys the subject's data key for good (and forgets any copy this process
        holds); True when this call destroyed it, False when it was gone already."""
        ...

    def destroyed(self, subject_id: UUID) -> bool:
        """True once the subject's data key has been destroyed."""
        ...
