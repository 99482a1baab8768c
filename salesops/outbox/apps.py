from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "salesops.outbox"
    label = "outbox"
    verbose_name = "Task outbox"
