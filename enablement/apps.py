from django.apps import AppConfig


class EnablementConfig(AppConfig):
    name = "enablement"
    verbose_name = "Enablement"

    def ready(self) -> None:
        # Listeners of other apps' events subscribe here (CRM milestones listen to pipeline.events.deals_changed,
        # auto-enrolment to salesops.org.events.person_changed), so those apps never import enablement.
        from enablement import listeners

        listeners.connect()
