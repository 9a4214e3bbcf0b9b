"""The first steps: the organisations and the venue's rewards, the volunteers and their
families."""

from uuid import UUID

from entrypoints.demo.data import (
    COMMUNITIES,
    DISTRICT,
    DISTRICT_COORDINATOR,
    FAMILY_PAIRS,
    REWARDS,
    STREET,
    STREET_COORDINATOR,
    VENUE,
    VOLUNTEERS,
)
from entrypoints.demo.people import make_people, relation
from entrypoints.demo.seeder import Seeder
from ledger.commands.exchange import ListReward
from ledger.commands.members import LinkFamily, RegisterOrganisation, RegisterVolunteer
from ledger.context import Actor, Role
from ledger.identity import DocumentType
from ledger.organisations import OrgKind


def found_town(s: Seeder) -> None:
    """The district, its street, three communities with two teams each, and a venue with
    rewards; the coordinators of the street and of the district."""

    def org(name: str, kind: OrgKind, parent: UUID | None, population: int | None) -> UUID:
        body = s.run(RegisterOrganisation(name, kind, parent, population), "organisations")
        return UUID(body["id"])

    s.district = org(DISTRICT[0], OrgKind.DISTRICT, None, DISTRICT[1])
    s.street = org(STREET[0], OrgKind.STREET, s.district, STREET[1])
    s.communities = []
    s.teams = []
    s.homes = []
    for name, (population, team_names) in COMMUNITIES.items():
        community = org(name, OrgKind.COMMUNITY, s.street, population)
        s.communities.append(community)
        s.homes.append(community)
        for team_name in team_names:
            s.teams.append(org(team_name, OrgKind.TEAM, community, None))
    s.homes.extend(s.teams)
    s.venue = org(VENUE, OrgKind.VENUE, s.district, None)
    s.rewards = [
        UUID(s.run(ListReward(s.venue, name, cost, stock, limit), "rewards")["id"])
        for name, cost, stock, limit in REWARDS
    ]
    s.reward_cost = {rid: spec[1] for rid, spec in zip(s.rewards, REWARDS, strict=True)}
    s.maker = Actor(STREET_COORDINATOR, Role.COORDINATOR, s.street)
    s.checker = Actor(DISTRICT_COORDINATOR, Role.COORDINATOR, s.district)


def enrol_volunteers(s: Seeder) -> None:
    """Registers the town's people, each a member of a community or a team."""
    s.people = make_people(s.rng, s.now.astimezone(s.zone).date())
    s.volunteers = []
    s.numbers = []
    for person in s.people:
        body = s.run(
            RegisterVolunteer(
                person.name,
                DocumentType.RESIDENT_ID,
                person.id_number,
                person.phone,
                person.birth.isoformat(),
                person.party_member,
                person.skills,
                s.rng.choice(s.homes),
            ),
            "volunteers",
        )
        s.volunteers.append(UUID(body["id"]))
        s.numbers.append(str(body["volunteer_number"]))


def link_families(s: Seeder) -> None:
    """Pairs of volunteers of one family, nobody in two pairs."""
    s.family = []
    linked: set[int] = set()
    while len(s.family) < FAMILY_PAIRS:
        a, b = s.rng.sample(range(VOLUNTEERS), 2)
        if a in linked or b in linked:
            continue
        linked.update((a, b))
        s.family.append((a, b))
        related = relation(s.people[a], s.people[b], s.rng)
        s.run(LinkFamily(s.volunteers[a], s.volunteers[b], related), "family_links")
