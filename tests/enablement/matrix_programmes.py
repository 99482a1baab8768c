"""The permission matrix's enablement routes and records: programmes (see tests/enablement/matrix_common.py)."""

from __future__ import annotations

from typing import Any

from tests.enablement.matrix_common import OPS, PAGE_ROLES_MANAGERS, POST

NOT_FINANCE = frozenset({"director", "manager_east", "manager_west", "rep_a", "rep_b", "rep_c", "rep_sub", "ops"})
PATCH = ("PATCH",)
DELETE = ("DELETE",)

ROUTES: dict[str, dict[str, Any]] = {
    "enablement/onboarding/": {},
    "enablement/onboarding/team/": {"only": PAGE_ROLES_MANAGERS | {"director"}},
    "enablement/onboarding/people/<int:pk>/": {"ids": "onboarding_person"},
    "enablement/onboarding/steps/<int:pk>/toggle/": {"ids": "onboarding_step", "writes": POST, "writers": NOT_FINANCE},
    "enablement/programmes/": {"writes": POST, "writers": OPS, "body": {"name": "Matrix programme"}},
    "enablement/programmes/<int:pk>/": {"ids": "programme", "writes": POST, "writers": OPS},
    "enablement/programmes/<int:pk>/steps/": {"ids": "programme", "writes": POST, "only": OPS,
                                              "body": {"title": "Matrix step", "kind": "task", "due_days": "3"}},
    "enablement/programmes/<int:pk>/enrol/": {"ids": "programme", "writes": POST, "only": OPS},
    "enablement/programmes/steps/<int:pk>/delete/": {"ids": "programme_step", "writes": POST, "only": OPS},
    "enablement/programmes/enrolments/<int:pk>/delete/": {"ids": "enrolment", "writes": POST, "only": OPS},
    "api/v1/enablement/programmes/": {"writes": POST, "writers": OPS, "body": {"name": "Matrix API programme"}},
    "api/v1/enablement/programmes/<pk>/": {"ids": "programme", "writes": PATCH, "writers": OPS,
                                            "body": {"description": "matrix"}},
    "api/v1/enablement/programmes/<pk>/steps/": {"ids": "programme", "writes": POST, "writers": OPS,
                                                  "body": {"title": "Matrix API step", "kind": "task", "due_days": 3}},
    "api/v1/enablement/programme-steps/<pk>/": {"ids": "programme_step", "writes": DELETE, "writers": OPS},
    # The enrolment's person is a body reference: sales ops (who alone enrol) see everyone, so no actor walks it.
    "api/v1/enablement/enrolments/": {"writes": POST, "writers": OPS,
                                      "body": {"programme": "@programme_spare", "person": "@onboarding_person"}},
    "api/v1/enablement/enrolments/<pk>/": {"ids": "enrolment", "writes": DELETE, "writers": OPS},
    "api/v1/enablement/enrolments/steps/<pk>/done/": {"ids": "onboarding_step", "writes": POST, "writers": NOT_FINANCE,
                                                      "body": {"done": True}},
}  # fmt: skip
OWNED_KINDS: set[str] = {"onboarding_person", "onboarding_step", "enrolment"}


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    from enablement.models import StepProgress
    from enablement.services import programmes as services

    ops = people["ops"]
    programme = services.programme_create(actor=ops, name="MARK-shared-programme", auto_assign=False)
    step = services.step_add(actor=ops, programme=programme, title="MARK-shared-step", kind="task", due_days=3)
    shared["programme"] = programme.pk
    shared["programme_step"] = step.pk
    # Nobody is on this one: an enrolment through the API succeeds (on `programme` everyone is enrolled already).
    spare = services.programme_create(actor=ops, name="Matrix spare programme", auto_assign=False)
    shared["programme_spare"] = spare.pk
    for owner, record in owned.items():
        enrolment = services.enrolment_create(actor=ops, programme=programme, person=people[owner])
        record["onboarding_person"] = people[owner].pk
        record["enrolment"] = enrolment.pk
        record["onboarding_step"] = StepProgress.objects.get(enrolment=enrolment).pk
