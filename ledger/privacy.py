"""Personal data is shown in full only to admins and coordinators of the home organisation."""

from ledger.audit import Actor, Role
from ledger.identity import mask_document, mask_name, mask_phone
from ledger.permissions import coordinates
from ledger.unit_of_work import UnitOfWork
from ledger.volunteers import Volunteer


def sees_pii(uow: UnitOfWork, actor: Actor, volunteer: Volunteer) -> bool:
    if actor.role is Role.ADMIN:
        return True
    return actor.role is Role.COORDINATOR and coordinates(uow, actor, volunteer.home_org_id)


def personal_data(volunteer: Volunteer, masked: bool) -> dict[str, str | None]:
    if not masked:
        return {
            "name": volunteer.name,
            "id_number": volunteer.id_number,
            "phone": volunteer.phone,
            "birth_date": volunteer.birth_date,
        }
    return {
        "name": mask_name(volunteer.name),
        "id_number": mask_document(volunteer.id_number),
        "phone": mask_phone(volunteer.phone),
        "birth_date": None,
    }
