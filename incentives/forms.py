from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.validators import slug_re

from incentives.engine import AttainmentBonus, Component, Draw, Plan, Spiff, Tier, TieredRate
from incentives.models import CompPlan, QuotaMeasure
from incentives.plans import PlanError, number_text, parse_plan, plan_to_json

DATE = forms.DateInput(attrs={"type": "date"})

PLAN_TEMPLATE = {
    "period": "quarter",
    "attainment_basis": "period",
    "clawback_days": 90,
    "components": [
        {
            "key": "commission",
            "type": "tiered_rate",
            "method": "marginal",
            "cap_attainment": "2.0",
            "tiers": [{"from": "0", "rate": "0.05"}, {"from": "0.5", "rate": "0.10"}, {"from": "1.0", "rate": "0.15"}],
        },
        {"key": "bonus", "type": "attainment_bonus", "threshold": "1.0", "amount": "5000"},
    ],
}


class PlanVersionForm(forms.Form):
    key = forms.SlugField(max_length=40, help_text="Short id, e.g. ae-2026.")
    name = forms.CharField(max_length=120)
    effective_from = forms.DateField(widget=DATE)
    note = forms.CharField(max_length=300, required=False, help_text="What changed and why (kept in the history).")
    definition = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 22, "class": "code", "spellcheck": "false"}),
        help_text="The plan JSON (its keys and a worked example are in docs/commissions.md): the period, the "
        "attainment basis, the credit scope, clawback days, a draw and the components (tiered rates, attainment "
        "bonuses, spiffs).",
    )

    def clean_definition(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["definition"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("The plan is a JSON object.")
        value.pop("key", None)
        value.pop("name", None)
        return value


class PlanImportForm(forms.Form):
    file = forms.FileField(help_text="A plan JSON file exported from salesops (or written by hand).")
    effective_from = forms.DateField(widget=DATE)


class AssignForm(forms.Form):
    person: forms.ModelChoiceField = forms.ModelChoiceField(queryset=CompPlan.objects.none())  # type: ignore[type-arg]
    start = forms.DateField(widget=DATE)
    end = forms.DateField(widget=DATE, required=False)

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people  # type: ignore[attr-defined]


class AdjustmentForm(forms.Form):
    person = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.DecimalField(max_digits=14, decimal_places=2)
    reason = forms.CharField(max_length=500)


class ReopenForm(forms.Form):
    reason = forms.CharField(max_length=500)


class LockForm(forms.Form):
    """The lock confirmation: a reason, the early-lock acknowledgement for a period that has not ended, and the
    figures the page showed (hidden), which the lock checks are still the period's."""

    reason = forms.CharField(max_length=500, required=False)
    early = forms.BooleanField(required=False, label="Lock early")
    expected_payouts = forms.IntegerField(required=False, widget=forms.HiddenInput)
    expected_lines = forms.IntegerField(required=False, widget=forms.HiddenInput)
    expected_total = forms.DecimalField(max_digits=14, decimal_places=2, required=False, widget=forms.HiddenInput)


class DisputeForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class ResolveForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    amount = forms.DecimalField(max_digits=14, decimal_places=2, required=False,
                                help_text="Signed amount to pay (accepting); becomes an adjustment.")  # fmt: skip
    resolution = forms.CharField(max_length=500)
    period = forms.CharField(
        max_length=10,
        required=False,
        help_text="The open period the adjustment is paid in (the next open one by default).",
    )


class QuotaUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV or XLSX with columns person (username, e-mail or employee id), period "
                           "(2026-Q1 or 2026-03), amount, and optionally measure.")  # fmt: skip
    measure = forms.ChoiceField(choices=QuotaMeasure.choices, initial=QuotaMeasure.BOOKINGS,
                                help_text="Used where the file has no measure column.")  # fmt: skip


# A plan built field by field: the plan JSON of the spec without typing JSON. One tiered commission with up to
# TIERS tiers, up to EXTRAS bonuses and EXTRAS spiffs; a plan beyond that is edited as JSON.
TIERS, EXTRAS = 6, 2


def _decimal(label: str) -> forms.DecimalField:
    """An optional, non-negative number field of the builder."""
    return forms.DecimalField(max_digits=16, decimal_places=6, required=False, min_value=0, label=label)


def _percent(label: str) -> forms.DecimalField:
    """An optional, non-negative percentage (a rate of 5 %, a tier from 50 % of quota): the plan JSON keeps
    fractions (0.05, 0.5), the form shows and takes percentages."""
    return forms.DecimalField(max_digits=16, decimal_places=4, required=False, min_value=0, label=f"{label} (%)")


def _fraction(value: Any) -> Any:
    """A percentage of the form as the plan JSON's fraction (Decimal, exact)."""
    return None if value is None else value / 100


def _percent_of(value: Decimal | None) -> str | None:
    """A plan fraction as the form's percentage (0.05 → "5", 1.0 → "100")."""
    if value is None:
        return None
    return number_text(value * 100, compact=True)


class PlanBuilderForm(forms.Form):
    key = forms.SlugField(max_length=40, help_text="Short id, e.g. ae-2026.")
    name = forms.CharField(max_length=120)
    effective_from = forms.DateField(widget=DATE)
    note = forms.CharField(max_length=300, required=False, help_text="What changed and why (kept in the history).")
    period = forms.ChoiceField(choices=[("quarter", "Quarterly"), ("month", "Monthly")])
    attainment_basis = forms.ChoiceField(
        choices=[("period", "Each period on its own"), ("ytd", "Fiscal year to date")], label="Attainment"
    )
    credit_scope = forms.ChoiceField(
        choices=[("individual", "Own credits"), ("team", "Own and everyone below (team)")], label="Credits"
    )
    clawback_days = forms.IntegerField(min_value=0, required=False, help_text="Cancelled deals claw back within.")
    draw_amount = _decimal("Draw per period")
    draw_recoverable = forms.BooleanField(required=False, label="Recoverable draw")
    commission_key = forms.SlugField(max_length=40, initial="commission", label="Commission component")
    method = forms.ChoiceField(choices=[("marginal", "Marginal (each band its rate)"),
                                        ("retroactive", "Retroactive (all at the reached rate)")])  # fmt: skip
    cap_attainment = _percent("Cap at attainment")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(1, TIERS + 1):
            self.fields[f"tier_{i}_from"] = _percent(f"Tier {i} from attainment")  # fmt: skip
            self.fields[f"tier_{i}_rate"] = _percent(f"Tier {i} rate")
        for i in range(1, EXTRAS + 1):
            suffix = "" if i == 1 else str(i)
            fields = self.fields
            fields[f"bonus_{i}_key"] = forms.SlugField(max_length=40, initial=f"bonus{suffix}", label=f"Bonus {i} key")
            fields[f"bonus_{i}_threshold"] = _percent(f"Bonus {i} attainment")
            fields[f"bonus_{i}_amount"] = _decimal(f"Bonus {i} amount")
            fields[f"spiff_{i}_key"] = forms.SlugField(max_length=40, initial=f"spiff{suffix}", label=f"Spiff {i} key")
            fields[f"spiff_{i}_product"] = forms.CharField(max_length=120, required=False, label=f"Spiff {i} product")
            fields[f"spiff_{i}_start"] = forms.DateField(widget=DATE, required=False, label=f"Spiff {i} from")
            fields[f"spiff_{i}_end"] = forms.DateField(widget=DATE, required=False, label=f"Spiff {i} to")
            fields[f"spiff_{i}_amount"] = _decimal(f"Spiff {i} per deal")

    def tier_rows(self) -> list[tuple[Any, Any]]:
        return [(self[f"tier_{i}_from"], self[f"tier_{i}_rate"]) for i in range(1, TIERS + 1)]

    def bonus_rows(self) -> list[tuple[Any, ...]]:
        return [tuple(self[f"bonus_{i}_{f}"] for f in ("key", "threshold", "amount")) for i in range(1, EXTRAS + 1)]

    def spiff_rows(self) -> list[tuple[Any, ...]]:
        names = ("key", "product", "start", "end", "amount")
        return [tuple(self[f"spiff_{i}_{f}"] for f in names) for i in range(1, EXTRAS + 1)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        # The fields become the engine's types, written out by the one plan module (incentives.plans): the
        # compact plan JSON (defaults left out, numbers without trailing zeros). The save checks the result.
        tiers = []
        for i in range(1, TIERS + 1):
            start, rate = data.get(f"tier_{i}_from"), data.get(f"tier_{i}_rate")
            if _filled([start, rate], f"Tier {i} needs both its starting attainment and its rate."):
                tiers.append(Tier(_fraction(start), _fraction(rate)))
        components: list[Component] = []
        if tiers:
            cap = None if data.get("cap_attainment") is None else _fraction(data["cap_attainment"])
            components.append(TieredRate(data["commission_key"], tuple(tiers), data["method"], cap))
        for i in range(1, EXTRAS + 1):
            threshold, amount = data.get(f"bonus_{i}_threshold"), data.get(f"bonus_{i}_amount")
            if not _filled([threshold, amount], f"Bonus {i} needs both its attainment threshold and its amount."):
                continue
            assert threshold is not None and amount is not None
            components.append(AttainmentBonus(data[f"bonus_{i}_key"], _fraction(threshold), amount))
        for i in range(1, EXTRAS + 1):
            values = [data.get(f"spiff_{i}_{f}") for f in ("product", "start", "end", "amount")]
            if not _filled(values, f"Spiff {i} needs its product, dates and amount per deal."):
                continue
            product, start, end, amount = values
            assert product is not None and start is not None and end is not None and amount is not None
            components.append(Spiff(data[f"spiff_{i}_key"], product, start, end, amount))
        if not components:
            raise forms.ValidationError("A plan pays through at least one tier, bonus or spiff.")
        draw = data.get("draw_amount")
        plan = Plan(
            key=data["key"],
            period=data["period"],
            components=tuple(components),
            attainment_basis=data["attainment_basis"],
            credit_scope=data["credit_scope"],
            clawback_days=data.get("clawback_days"),
            draw=None if draw is None else Draw(draw, bool(data["draw_recoverable"])),
        )
        data["definition"] = plan_to_json(plan, compact=True)
        return data

    @staticmethod
    def initial_from(definition: dict[str, Any]) -> dict[str, Any] | None:
        """The form's fields for a stored plan JSON, or None when the form cannot show it (edit it as JSON)."""
        components = definition.get("components", [])
        # What the form does not show (descriptions, component names, other draw fields) or cannot hold (keys
        # that are not slugs, numbers finer than its fields) would be lost or refused on saving: JSON then.
        # The first three are not in the engine's types, so they are looked for in the JSON itself.
        if definition.get("description") or any(c.get("name") or c.get("description") for c in components):
            return None
        if set(definition.get("draw") or {}) - {"amount", "recoverable"}:
            return None
        try:
            # The template and the editor's JSON carry no key; the plan's key is not one of the form's numbers.
            plan = parse_plan({"key": "plan", **definition})
        except PlanError:
            return None
        if not all(slug_re.match(c.key) for c in plan.components):
            return None
        numbers = [plan.draw.amount] if plan.draw is not None else []
        for c in plan.components:
            if isinstance(c, TieredRate):
                numbers += [c.cap_attainment] if c.cap_attainment is not None else []
                numbers += [n for t in c.tiers for n in (t.attainment, t.rate)]
            elif isinstance(c, AttainmentBonus):
                numbers += [c.threshold, c.amount]
            else:
                numbers.append(c.amount_per_deal)
        if not all(_fits(n) for n in numbers):
            return None
        tiered = [c for c in plan.components if isinstance(c, TieredRate)]
        bonuses = [c for c in plan.components if isinstance(c, AttainmentBonus)]
        spiffs = [c for c in plan.components if isinstance(c, Spiff)]
        if (
            len(tiered) > 1
            or len(bonuses) > EXTRAS
            or len(spiffs) > EXTRAS
            or (tiered and len(tiered[0].tiers) > TIERS)
        ):
            return None
        initial: dict[str, Any] = {
            "period": plan.period,
            "attainment_basis": plan.attainment_basis,
            "credit_scope": plan.credit_scope,
            "clawback_days": plan.clawback_days,
            "draw_amount": plan.draw.amount if plan.draw is not None else None,
            "draw_recoverable": plan.draw is not None and plan.draw.recoverable,
        }
        if tiered:
            first = tiered[0]
            initial |= {"commission_key": first.key, "method": first.method,
                        "cap_attainment": _percent_of(first.cap_attainment)}  # fmt: skip
            for i, tier in enumerate(first.tiers, start=1):
                initial |= {f"tier_{i}_from": _percent_of(tier.attainment), f"tier_{i}_rate": _percent_of(tier.rate)}
        for i, bonus in enumerate(bonuses, start=1):
            initial |= {f"bonus_{i}_key": bonus.key, f"bonus_{i}_threshold": _percent_of(bonus.threshold),
                        f"bonus_{i}_amount": bonus.amount}  # fmt: skip
        for i, spiff in enumerate(spiffs, start=1):
            initial |= {f"spiff_{i}_key": spiff.key, f"spiff_{i}_product": spiff.product,
                        f"spiff_{i}_start": spiff.start.isoformat(), f"spiff_{i}_end": spiff.end.isoformat(),
                        f"spiff_{i}_amount": spiff.amount_per_deal}  # fmt: skip
        return initial


def _filled(values: list[Any], partly: str) -> bool:
    """Whether a row of the builder is given: all its values (True), none (False), or some (refused)."""
    given = [v not in (None, "") for v in values]
    if any(given) and not all(given):
        raise forms.ValidationError(partly)
    return all(given)


def _fits(value: Any) -> bool:
    """Whether a plan number fits the builder's number fields (10 digits before the point, 6 after)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return False
    return number.is_finite() and abs(number) < 10**10 and number == number.quantize(Decimal("0.000001"))
