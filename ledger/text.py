"""Free text as people type it: any characters but the control characters (Unicode category
Cc) other than tab, line feed and carriage return, which no record should carry (a NUL
cannot even be stored in a PostgreSQL text column)."""

import re

CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None
