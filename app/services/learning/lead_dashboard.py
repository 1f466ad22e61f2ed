"""The leaders' dashboard as a list of panels: which panels, in which order.

Each panel is one function taking a ``leadership.Context`` and returning a
``leadership.PanelData``; the page renders each through ``lead/panels/<key>.html`` and serves
its table as CSV. A panel is one function, one row of :data:`PANELS` and one template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app.services._core.errors import NotFound
from app.services.learning import lead_plans, leadership, pd_goals
from app.services.learning.leadership import Context, PanelData

#: The dashboard's panels, in order: key → function.
PANELS: dict[str, Callable[[Context], PanelData]] = {
    "participation": leadership.participation,
    "goals": pd_goals.goals_panel,
    "standards": leadership.by_standard,
    "achievements": leadership.by_achievement,
    "plan_goals": lead_plans.plan_goals,
    "coaching": lead_plans.coaching_delivery,
    "hours": leadership.pd_hours,
    "trends": leadership.trends,
}


def panels(ctx: Context, keys: Iterable[str] | None = None) -> list[PanelData]:
    """The panels named (all by default), in the dashboard's order."""
    wanted = set(PANELS) if keys is None else set(keys)
    return [function(ctx) for key, function in PANELS.items() if key in wanted]


def panel(ctx: Context, key: str) -> PanelData:
    """One panel.

    :raises NotFound: for a panel the dashboard does not have.
    """
    if key not in PANELS:
        raise NotFound("The dashboard has no such panel.")
    return PANELS[key](ctx)
