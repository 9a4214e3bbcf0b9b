"""Schemathesis hooks for tests/test_fuzz_api.py (loaded by the CLI through SCHEMATHESIS_HOOKS).

Now and then one integer of a generated JSON body is replaced by one beyond 64 bits, which a
schema without a maximum allows but neither store's integer columns hold: the API must refuse
it or keep it, and the read models must go on following the log (the test checks them after
the run). The configuration's dictionaries cannot carry such numbers: TOML's integers are 64-bit.
"""

from typing import Any

import schemathesis
from hypothesis import strategies as st

BEYOND_64_BITS = (2**63, 2**64, 10**30)
SHARE = 10  # about one body in SHARE that has an integer gets one of them


def _with_big_integer(body: dict[str, Any], key: str, value: int) -> dict[str, Any]:
    return {**body, key: value}


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    if not isinstance(body, dict):
        return st.just(body)
    integers = sorted(k for k, v in body.items() if type(v) is int)
    if not integers:
        return st.just(body)
    replaced = st.builds(
        _with_big_integer, st.just(body), st.sampled_from(integers), st.sampled_from(BEYOND_64_BITS)
    )
    return st.integers(0, SHARE - 1).flatmap(lambda n: replaced if n == 0 else st.just(body))
