"""Free text as people type it: any characters but the control characters (Unicode category
Cc) other than tab, line feed and carriage return, which no record should carry (a NUL
cannot even be stored in a PostgreSQL text column), and never half of a surrogate pair (JSON
can carry one escaped, but it is no character and no store can encode it)."""

import re

CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The same set as a pattern for a whole string, in a form JSON Schema (ECMA-262), Python and
# pydantic's regex engine read alike.
PRINTABLE_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def has_lone_surrogates(text: str) -> bool:
    return LONE_SURROGATES.search(text) is not None
