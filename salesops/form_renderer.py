"""The form renderer (settings.FORM_RENDERER): Django's, with `<select>` written in Python.

Django renders a select through a template per option (and another for each option's attributes): on the deal
list and the board, whose filter forms offer every visible owner, stage, region and sort order, that was a
third of the page's time. This writes the same HTML as Django's own widget templates, character for character,
with the same escaping and value formatting (`render_value_in_context`, the `stringformat` filter's rule for
safe strings); tests/test_form_renderer.py compares the two on every kind of choice. Any other template, an
option with a template of its own, or a select template an app overrides goes to Django's renderer as before.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import stringformat
from django.utils.safestring import SafeData, mark_safe

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"


def _text(value: Any, context: Context) -> str:
    """`{{ value }}` in a template: localized, then escaped unless safe."""
    return str(render_value_in_context(value, context))


def _formatted(value: Any, context: Context) -> str:
    """`{{ value|stringformat:'s' }}` in a template (the filter keeps a safe value safe)."""
    text = stringformat(value, "s")
    return _text(mark_safe(text) if isinstance(value, SafeData) else text, context)  # noqa: S308 - it was safe


def _attrs(attrs: dict[str, Any], context: Context) -> str:
    """django/forms/widgets/attrs.html"""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(" " + _text(name, context))
        if value is not True:
            parts.append('="' + _formatted(value, context) + '"')
    return "".join(parts)


def select_html(widget: dict[str, Any]) -> str | None:
    """django/forms/widgets/select.html and its options, or None where an option has another template."""
    context = Context(autoescape=True)
    parts = [f'<select name="{_text(widget["name"], context)}"{_attrs(widget["attrs"], context)}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name, context)}">')
        for option in group_choices:
            if option["template_name"] != OPTION:
                return None
            parts.append(
                f'\n  <option value="{_formatted(option["value"], context)}"{_attrs(option["attrs"], context)}>'
                f"{_text(option['label'], context)}</option>\n"  # the option template's last line ends
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts).strip()


class FormRenderer(DjangoTemplates):
    """Django's default renderer; selects are written by `select_html` while Django's template is the one in
    use (an app's own django/forms/widgets/select.html keeps being rendered as a template)."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name == SELECT and self._stock_select:
            html = select_html(context["widget"])
            if html is not None:
                return html
        return str(super().render(template_name, context, request=request))

    @property
    def _stock_select(self) -> bool:
        stock = self.__dict__.get("_stock")
        if stock is None:
            origin = self.get_template(SELECT).origin.name
            stock = self.__dict__["_stock"] = origin.replace("\\", "/").endswith("django/forms/templates/" + SELECT)
        return bool(stock)
