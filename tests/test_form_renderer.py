"""salesops.form_renderer writes <select> in Python: the HTML must be Django's own templates', character for
character."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from salesops.form_renderer import FormRenderer

CHOICES: list[Any] = [
    ("", "Any owner"),
    ("a", "Ann <Lee> & \"Co\" 'x'"),
    (3, "three"),
    (Decimal("1.50"), gettext_lazy("Lazy label")),
    (dt.date(2026, 1, 2), mark_safe("<b>safe</b>")),
    (mark_safe("v&1"), "safe value"),
    (None, "none"),
    ("Group", [("g1", "one"), ("g2", "two & more")]),
    (True, "yes"),
]


def _widgets() -> list[tuple[forms.Widget, Any]]:
    return [
        (forms.Select(choices=CHOICES), "a"),
        (forms.Select(choices=CHOICES), None),
        (forms.Select(choices=CHOICES), 3),
        (forms.Select(choices=CHOICES, attrs={"class": 'x "y"', "required": True, "disabled": False}), "g2"),
        (forms.Select(choices=[]), ""),
        (forms.Select(choices=[(1, 2026), (2, Decimal("1234.5"))]), 1),
        (forms.NullBooleanSelect(), "true"),
        (forms.SelectMultiple(choices=CHOICES), ["a", "g1"]),
        (forms.Select(choices=CHOICES, attrs={"id": "id_owner", "data-x": 5}), "a"),
    ]


@pytest.mark.parametrize("index", range(len(_widgets())))
def test_selects_render_as_djangos_templates_do(index: int) -> None:
    widget, value = _widgets()[index]
    attrs = {"id": "id_field", "aria-label": "Owner"}
    expected = widget.render("owner", value, attrs=attrs, renderer=DjangoTemplates())
    assert widget.render("owner", value, attrs=attrs, renderer=FormRenderer()) == expected


def test_a_filter_form_of_model_choices_renders_the_same(db: Any) -> None:
    from pipeline.filtersets import DealFilterSet
    from pipeline.models import Deal
    from salesops.org.models import Region

    Region.objects.create(name="North & <South>")
    form = DealFilterSet({"status": "open", "ordering": "-amount"}, queryset=Deal.objects.none()).form
    names = ["status", "pipeline", "stage", "owner", "region", "team", "category", "deal_type", "ordering"]
    form.renderer = FormRenderer()
    fast = [str(form[name]) for name in names]
    form.renderer = DjangoTemplates()
    assert fast == [str(form[name]) for name in names]
    assert "North &amp; &lt;South&gt;" in fast[names.index("region")]


def test_the_renderer_is_the_projects() -> None:
    from django.conf import settings

    assert settings.FORM_RENDERER == "salesops.form_renderer.FormRenderer"


def test_selects_do_not_go_through_the_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[str] = []
    original = DjangoTemplates.render

    def spy(self: DjangoTemplates, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        rendered.append(template_name)
        return str(original(self, template_name, context, request))

    monkeypatch.setattr(DjangoTemplates, "render", spy)
    html = forms.Select(choices=CHOICES).render("owner", "a", renderer=FormRenderer())
    assert html.startswith('<select name="owner">')
    assert rendered == []
