"""A volunteer's personal data, in full or masked (who sees which: commands/permissions.py)."""

from ledger.identity import mask_document, mask_name, mask_phone
from ledger.volunteers import Volunteer


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
