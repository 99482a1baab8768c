from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Pipeline"

    def ready(self) -> None:
        from salesops.org.events import person_leaving

        person_leaving.connect(_on_person_leaving, dispatch_uid="pipeline-hand-over-open-deals")


def _on_person_leaving(
    sender: object, *, person_id: int, successor_id: int | None, actor_id: int | None, **_: object
) -> str | None:
    """A leaver's open deals go to the successor sales ops chose (each change kept in the deal's history, as
    an owner change made by hand is). Won and lost deals stay theirs: they were credited to them."""
    from pipeline.models import Deal, DealStatus
    from pipeline.services import deal_update
    from salesops.api import DomainError
    from salesops.org.models import User

    deals = list(Deal.objects.filter(owner_id=person_id, status=DealStatus.OPEN).order_by("id"))
    if not deals:
        return None
    if successor_id is None:
        raise DomainError(
            f"{len(deals)} open deal{'s' if len(deals) != 1 else ''} still belong to this person: "
            "choose who takes them over.",
            field="successor",
        )
    successor = User.objects.get(pk=successor_id)
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    for deal in deals:
        deal_update(actor=actor, deal=deal, owner=successor)
    return f"{len(deals)} open deal{'s' if len(deals) != 1 else ''} moved to {successor.display_name}."
