from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "signals"
    verbose_name = "Signals"

    def ready(self) -> None:
        # Listeners of other apps' events subscribe here (notifications listen to disputes, locks, imports and
        # deal changes; rules to deal changes), so those apps never import signals.
        from signals import listeners

        listeners.connect()
