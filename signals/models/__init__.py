"""Signals' models, one module per area; private to signals (import-linter contract)."""

from signals.models.channels import *  # noqa: F403
from signals.models.leads import *  # noqa: F403
from signals.models.marketing import *  # noqa: F403
from signals.models.notifications import *  # noqa: F403
from signals.models.reconciliation import *  # noqa: F403
from signals.models.rules import *  # noqa: F403
