"""Free text as people type it: any characters but

- the control characters (Unicode category Cc) other than tab, line feed and carriage
  return, which no record should carry (a NUL cannot even be stored in a PostgreSQL text
  column);
- the bidirectional embedding, override and isolate controls (U+202A-U+202E,
  U+2066-U+2069), which make a name or a reason read in another order than it is stored
  (a "Trojan Source" name in a list of volunteers);
- half of a surrogate pair (JSON can carry one escaped, but it is no character and no store
  can encode it);

and text that is not blank must show at least one visible character: a name made only of
zero-width spaces, joiners or fillers would show as nothing in a notice or on a record.

One pattern says it all, in a form JSON Schema (ECMA-262), Python and pydantic's regex
engine read alike: the API declares it and the domain (bounds.Text) checks it."""

import re

# Refused anywhere in a text.
FORBIDDEN = r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069"
# Blank: what str.strip() removes (the domain strips texts; a blank required text is
# refused as required, a blank optional one is empty).
SPACE = r"\t\n\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
# Shown as nothing: zero-width characters and joiners, invisible operators, fillers,
# variation selectors, the byte-order mark, the soft hyphen, the blank braille pattern.
INVISIBLE = (
    r"\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F"
    r"\u2060-\u2065\u206A-\u206F\u2800\u3164\uFE00-\uFE0F\uFEFF\uFFA0"
)
PRINTABLE_PATTERN = (
    rf"^(?:[{SPACE}]*|[^{FORBIDDEN}]*[^{FORBIDDEN}{SPACE}{INVISIBLE}][^{FORBIDDEN}]*)$"
)
_PRINTABLE = re.compile(PRINTABLE_PATTERN)
_FORBIDDEN = re.compile(f"[{FORBIDDEN}]")
LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def has_control_characters(text: str) -> bool:
    """Control characters, bidirectional controls included."""
    return _FORBIDDEN.search(text) is not None


def is_printable(text: str) -> bool:
    """Blank, or without control characters and with at least one visible character."""
    return _PRINTABLE.fullmatch(text) is not None


def has_lone_surrogates(text: str) -> bool:
    return LONE_SURROGATES.search(text) is not None
