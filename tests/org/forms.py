"""What a browser sends when sales ops save a person's edit page unchanged, with `changes` on top."""

from __future__ import annotations

from typing import Any

from salesops.org.forms import ROLE_FIELDS
from salesops.org.models import User


def person_form_data(person: User, **changes: Any) -> dict[str, Any]:
    """Every field of the edit form as the page shows it; a ticked box sends the hidden "false" and "on"."""
    person = User.objects.get(pk=person.pk)
    data: dict[str, Any] = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "title": person.title,
        "employee_id": person.employee_id or "",
        "manager": person.manager_id or "",
        "region": person.region_id or "",
        "team": person.team_id or "",
        "start_date": person.start_date.isoformat() if person.start_date else "",
        "end_date": person.end_date.isoformat() if person.end_date else "",
        "reason": "",
    }
    flags = {name: getattr(person, name) for name in ROLE_FIELDS}
    if not person.is_active:
        flags["is_active"] = False
    for name, value in changes.items():
        if name in flags or name == "is_active":
            flags[name] = value
        else:
            data[name] = value
    for name, ticked in flags.items():
        data[name] = ["false", "on"] if ticked else ["false"]
    return data
