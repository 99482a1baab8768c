"""Events of the org layer other apps may listen to (they subscribe in their AppConfig.ready).

Both are sent inside the transaction that made the change, with primitive ids, so a listener's writes commit
or roll back with it (a listener that refuses raises `DomainError` and nothing of the change is kept).

`manager_changed`: a person moved to another manager. kwargs: person_id, old_manager_id, new_manager_id
(either may be None), actor_id (or None).

`person_leaving`: sales ops deactivated a leaver. kwargs: person_id, end_date (ISO date: their last day),
successor_id (who takes over their open work, or None when none was chosen), actor_id (or None), reason.
A listener hands over what its app holds of the leaver (the pipeline: open deals; incentives: plan
assignments) and may return one plain sentence saying what it did, shown to sales ops and kept in the audit
history of the deactivation.

`person_changed`: a person was created or changed (sent once the transaction commits, so a listener sees the
committed row; enablement enrols starters in its onboarding programmes). kwargs: person_id, created (bool).
"""

from __future__ import annotations

from django.dispatch import Signal

manager_changed = Signal()
person_leaving = Signal()
person_changed = Signal()
