from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class DemoAwareModelBackend(ModelBackend):
    """Django's username/password backend that refuses demo logins when settings disallow them."""

    def user_can_authenticate(self, user: Any) -> bool:
        if getattr(user, "is_demo", False) and not settings.DEMO_LOGINS_ALLOWED:
            return False
        return super().user_can_authenticate(user)
