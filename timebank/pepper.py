"""The id pepper: the key of the hash that identifies the claim of an ID document (and, by
default, of the seal on stored responses). It is set once per deployment and never changed:
a new one would let every document registered before register again."""

from ledger.identity import PUBLISHED_PEPPER
from timebank.keyfiles import SecretFileError, secret_file
from timebank.settings import Settings

PepperError = SecretFileError  # no usable pepper: the process refuses to start


def load_pepper(settings: Settings) -> bytes:
    """TIMEBANK_ID_PEPPER, or the content of TIMEBANK_ID_PEPPER_FILE; with neither, SQLite
    uses a pepper generated into a file beside its database on first use, and PostgreSQL
    (a deployment, shared by many processes) refuses to start. The published default is
    refused on PostgreSQL whichever way it comes."""
    if settings.id_pepper is not None:
        pepper = settings.id_pepper.get_secret_value().encode()
    else:
        pepper = secret_file(
            settings.id_pepper_file,
            settings.store,
            "pepper",
            "PostgreSQL needs an id pepper of its own: set TIMEBANK_ID_PEPPER or "
            "TIMEBANK_ID_PEPPER_FILE to a long random secret",
            "id pepper",
        )
    if not pepper:
        raise PepperError("the id pepper is empty")
    if pepper == PUBLISHED_PEPPER and not settings.store.is_sqlite:
        raise PepperError(
            "the id pepper is the published default: set TIMEBANK_ID_PEPPER or "
            "TIMEBANK_ID_PEPPER_FILE to a long random secret"
        )
    return pepper
