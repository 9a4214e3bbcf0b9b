"""Who sees which field of a volunteer: the table in ledger/privacy.py is the README's, every
kind of caller gets exactly what it says over HTTP (both stores), and masking keeps at most a
quarter of any value's characters."""

import re
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger.context import Role
from ledger.privacy import FIELDS, SHOWN_KEPT_DENOMINATOR, VIEWERS, Shown, Viewer, mask, shown
from tests.http import Api, Town

README = Path(__file__).resolve().parent.parent / "README.md"
ZHANG_SAN_ID = "11010519491231002X"


def readme_table() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("**Personal data by role.**") :]
    section = section[: section.index("**Requests, consent and records.**")]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_the_readme_table_is_the_code_table() -> None:
    header, rule, *rows = readme_table()
    assert header == ["field", *(v.value for v in VIEWERS)]
    assert set(rule) == {"---"}
    assert rows == [[field, *(s.value for s in row)] for field, row in FIELDS.items()]


@given(st.text(max_size=64))
def test_masking_keeps_at_most_a_quarter_of_any_value(value: str) -> None:
    masked = mask(value)
    assert len(masked) == len(value)
    kept = [i for i, ch in enumerate(masked) if ch != "*"]
    assert len(kept) <= len(value) // SHOWN_KEPT_DENOMINATOR
    assert all(masked[i] == value[i] for i in kept)


@given(
    st.one_of(
        st.from_regex(r"\A[0-9]{17}[0-9X]\Z"),  # resident id
        st.from_regex(r"\A[A-Z][0-9]{8}\Z"),  # passport
        st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ-", min_size=1, max_size=64),
    )
)
def test_masking_of_any_document_number_keeps_at_most_a_quarter(number: str) -> None:
    masked = mask(number)
    shown_characters = sum(1 for a, b in zip(masked, number, strict=True) if a == b != "*")
    assert shown_characters <= len(number) // 4
    assert masked.count("*") >= len(number) - len(number) // 4


def test_masks_of_the_usual_values() -> None:
    assert mask(ZHANG_SAN_ID) == "11**************2X"  # 18 characters: 4 kept
    assert mask("E12345678") == "E*******8"  # 9: 2
    assert mask("张三") == "**"
    assert mask("13812345678") == "1*********8"


def zhang_san(home_org_id: str) -> dict[str, Any]:
    return {
        "name": "张三",
        "id_document": {"type": "resident_id", "number": ZHANG_SAN_ID},
        "phone": "13812345678",
        "birth_date": "1949-12-31",
        "party_member": True,
        "skills": ["护理"],
        "home_org_id": home_org_id,
    }


def expected(viewer: Viewer, full: dict[str, Any]) -> dict[str, Any]:
    """The volunteer as `viewer` should see it, from the table."""

    def value(field: str, v: Any) -> Any:
        how = shown(field, viewer)
        return v if how is Shown.FULL else mask(v) if how is Shown.MASKED else None

    seen = dict(full)
    seen["name"] = value("name", full["name"])
    seen["id_document"] = {
        "type": full["id_document"]["type"],
        "number": value("id_document.number", full["id_document"]["number"]),
    }
    for field in ("phone", "birth_date", "party_member", "family", "family_requests"):
        seen[field] = value(field, full[field])
    seen["pii_masked"] = any(shown(f, viewer) is not Shown.FULL for f in FIELDS)
    return seen


def test_every_role_sees_the_fields_the_table_gives_it(town: Town) -> None:
    other_street = town.org("西湖街道", "street", town.district)
    registered = town.admin.post("/v1/volunteers", zhang_san(town.team))
    assert registered.status_code == 201, registered.text
    zhang, number = registered.json()["id"], registered.json()["volunteer_number"]
    relative = town.volunteer()
    r = town.admin.post(
        f"/v1/volunteers/{zhang}/family-links", {"relative_id": relative, "relation": "child"}
    )
    assert r.status_code == 201, r.text
    asked = town.volunteer(town.org("西湖队", "team", other_street))
    r = town.client(Role.VOLUNTEER, zhang).post(
        f"/v1/volunteers/{zhang}/family-links", {"relative_id": asked, "relation": "sibling"}
    )
    assert r.status_code == 201 and r.json()["status"] == "pending", r.text
    full = {
        "id": zhang,
        "volunteer_number": number,
        "name": "张三",
        "id_document": {"type": "resident_id", "number": ZHANG_SAN_ID},
        "phone": "13812345678",
        "birth_date": "1949-12-31",
        "party_member": True,
        "skills": ["护理"],
        "home_org_id": town.team,
        "family": [{"relative_id": relative, "relation": "child"}],
        "family_requests": [{"relative_id": asked, "relation": "sibling"}],
        "pii_masked": False,
        "erased": False,
    }
    callers: list[tuple[Viewer, str, Api, bool]] = [
        (Viewer.ADMIN, "admin", town.admin, True),
        (Viewer.HOME_COORDINATOR, "team", town.client(Role.COORDINATOR, town.team), True),
        (Viewer.HOME_COORDINATOR, "street", town.client(Role.COORDINATOR, town.street), True),
        (Viewer.HOME_COORDINATOR, "district", town.client(Role.COORDINATOR, town.district), True),
        (Viewer.SELF, "zhang", town.client(Role.VOLUNTEER, zhang), False),
        (Viewer.OTHER_COORDINATOR, "west", town.client(Role.COORDINATOR, other_street), True),
        (Viewer.DESK, "desk", town.client(Role.DESK, town.venue), True),
        (Viewer.AUDITOR, "auditor", town.client(Role.AUDITOR), True),
        (Viewer.OTHER_VOLUNTEER, "other", town.client(Role.VOLUNTEER, town.volunteer()), False),
    ]
    assert {viewer for viewer, *_ in callers} == set(Viewer)
    for viewer, who, api, may_look_up in callers:
        responses = [api.get(f"/v1/volunteers/{zhang}")]
        if may_look_up:
            responses.append(api.get("/v1/volunteers", number=number))
        want = expected(viewer, full)
        for r in responses:
            assert r.status_code == 200, (who, r.text)
            assert r.json() == want, who
            secrets = {
                "name": ["张三"],
                "id_document.number": [ZHANG_SAN_ID],
                "phone": ["13812345678"],
                "birth_date": ["1949-12-31"],
                "family": [relative],
                "family_requests": [asked],
            }
            for field, values in secrets.items():
                if shown(field, viewer) is not Shown.FULL:
                    for secret in values:
                        assert secret not in r.text, f"{who} sees {secret}"
    masked_number = expected(Viewer.DESK, full)["id_document"]["number"]
    assert masked_number == "11**************2X"


def test_the_openapi_says_which_fields_may_be_null(town: Town) -> None:
    doc = town.admin.get("/openapi.json").json()
    schema = doc["components"]["schemas"]["VolunteerOut"]["properties"]
    for field in ("birth_date", "party_member", "family", "family_requests"):
        types = {option.get("type") for option in schema[field]["anyOf"]}
        assert "null" in types, field
        assert re.search("admin", schema[field]["description"]), field
