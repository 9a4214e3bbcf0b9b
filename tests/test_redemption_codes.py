"""Redemption codes: eight characters from an alphabet without look-alikes (0/O, 1/I),
every character equally likely."""

from collections import Counter

from ledger.rewards import CODE_ALPHABET, CODE_LENGTH, new_redemption_code


def test_codes_use_every_character_of_the_alphabet_evenly() -> None:
    assert len(set(CODE_ALPHABET)) == len(CODE_ALPHABET) == 32
    assert not set("01IO") & set(CODE_ALPHABET)
    codes = [new_redemption_code() for _ in range(4000)]
    assert all(len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) for code in codes)
    counts = Counter("".join(codes))
    expected = 4000 * CODE_LENGTH / 32  # 1,000 each
    assert set(counts) == set(CODE_ALPHABET)
    assert all(abs(n - expected) < 200 for n in counts.values())  # over 6 standard deviations
    assert len(set(codes)) == len(codes)
