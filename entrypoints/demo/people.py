"""The demo's volunteers: reproducible people with valid resident ids, and how two of them
are related."""

import random
from dataclasses import dataclass
from datetime import date, timedelta

from stdnum.cn import ric

from entrypoints.demo.data import AREA_CODES, GIVEN, PHONE_PREFIXES, SKILLS, SURNAMES, VOLUNTEERS
from ledger.volunteers import Relation


@dataclass
class Person:
    name: str
    id_number: str
    phone: str
    birth: date
    party_member: bool
    skills: tuple[str, ...]


def resident_id(first17: str) -> str:
    """GB 11643: 17 digits and their check digit (stdnum wants a placeholder for it)."""
    return first17 + ric.calc_check_digit(first17 + "0")


def make_people(rng: random.Random, today: date) -> list[Person]:
    people: list[Person] = []
    used_ids: set[str] = set()
    used_phones: set[str] = set()
    while len(people) < VOLUNTEERS:
        age_days = rng.randint(18 * 366, 75 * 365)
        birth = today - timedelta(days=age_days)
        sequence = rng.randint(0, 999)
        phone = rng.choice(PHONE_PREFIXES) + f"{rng.randint(0, 10**8 - 1):08d}"
        id_number = next(
            number
            for area in AREA_CODES
            if ric.is_valid(number := resident_id(f"{area}{birth:%Y%m%d}{sequence:03d}"))
        )
        if id_number in used_ids or phone in used_phones:
            continue
        used_ids.add(id_number)
        used_phones.add(phone)
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        people.append(
            Person(
                name=rng.choice(SURNAMES) + given,
                id_number=id_number,
                phone=phone,
                birth=birth,
                party_member=rng.random() < 0.25,
                skills=tuple(rng.sample(SKILLS, rng.randint(0, 3))),
            )
        )
    return people


def relation(a: Person, b: Person, rng: random.Random) -> Relation:
    """How b relates to a."""
    years = (a.birth - b.birth).days / 365.25  # > 0: b is older
    if years >= 45:
        return Relation.GRANDPARENT
    if years <= -45:
        return Relation.GRANDCHILD
    if years >= 20:
        return Relation.PARENT
    if years <= -20:
        return Relation.CHILD
    return rng.choice((Relation.SPOUSE, Relation.SIBLING))
