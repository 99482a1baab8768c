"""Events of the org layer other apps may listen to (they subscribe in their AppConfig.ready).

`manager_changed` is sent inside the transaction that moved a person to another manager, with primitive
ids: person_id, old_manager_id, new_manager_id (either may be None), actor_id (or None).
"""

from __future__ import annotations

from django.dispatch import Signal

manager_changed = Signal()
