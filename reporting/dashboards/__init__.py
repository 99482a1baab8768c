"""The four dashboards (manager, rep, executive, finance) as panels: numbers, a plotly figure and a table,
each cell with the link to the deals behind it. Pages, their exports, the API and the digest render these.

One module per dashboard (`manager`, `rep`, `executive`, `finance`) over the shared panel layer (`panels`).
Every number comes from `reporting.queries` through `reporting.kpis`; a panel that fails shows its own
error state (the others still render), a panel with nothing to show says so.
"""

from reporting.dashboards.executive import executive_dashboard
from reporting.dashboards.finance import finance_dashboard
from reporting.dashboards.manager import manager_dashboard
from reporting.dashboards.panels import (
    QUIET_DAYS,
    RISK_FACTOR,
    TOP_ROWS,
    Cell,
    Context,
    Dashboard,
    Panel,
    Stat,
    fmt_change,
    fmt_days,
    fmt_ratio,
    tuned_session,
)
from reporting.dashboards.rep import rep_dashboard, rep_subject

__all__ = [
    "QUIET_DAYS",
    "RISK_FACTOR",
    "TOP_ROWS",
    "Cell",
    "Context",
    "Dashboard",
    "Panel",
    "Stat",
    "executive_dashboard",
    "finance_dashboard",
    "fmt_change",
    "fmt_days",
    "fmt_ratio",
    "manager_dashboard",
    "rep_dashboard",
    "rep_subject",
    "tuned_session",
]
