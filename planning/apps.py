from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "Planning"

    def ready(self) -> None:
        # Deals and accounts show their territory in the active model (pipeline asks; see pipeline/events.py),
        # so the pipeline never imports planning.
        from pipeline.events import register_territory_lookup
        from planning.selectors.territories import account_territories

        register_territory_lookup("planning-account-territory", account_territories)
