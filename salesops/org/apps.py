from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "salesops.org"
    label = "org"
    verbose_name = "People and organisation"

    def ready(self) -> None:
        from django.contrib import admin

        from salesops.org.forms import AdminSignInForm

        # The admin's sign-in page counts failed sign-ins like every other way in (salesops/org/sign_in.py).
        admin.site.login_form = AdminSignInForm

        from django.contrib.auth.signals import user_logged_in

        from salesops.org.sign_in_events import on_user_logged_in

        # Every successful sign-in is a SignInEvent (the adoption scorecard's weekly active users).
        user_logged_in.connect(on_user_logged_in, dispatch_uid="org.sign_in_event")
