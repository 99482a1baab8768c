"""Security audit: a form's help text is escaped like every other text of a page. The person page's e-mail field
explains, in its help text, why it is locked, naming the person: a name holding markup was written into sales
ops' page as HTML (stored HTML injection); the password form's help, which Django marks safe, stays a list."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

NAME = '<a href="https://evil.example/login" data-testid="injected">Re-enter your password</a>'


def test_a_locked_fields_help_text_shows_the_persons_name_as_text(client_for, org):
    org.finance.first_name, org.finance.last_name = NAME, ""
    org.finance.save()
    page = client_for(org.ops).get(reverse("org:person_edit", args=[org.finance.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="injected"' not in text
    assert "&lt;a href=&quot;https://evil.example/login&quot;" in text  # shown as the name it is
    assert "holds the finance role, which you do not" in text


def test_the_password_forms_help_stays_a_list(client_for, org):
    page = client_for(org.rep_a).get(reverse("password_change"))
    assert page.status_code == 200 and "<ul><li>" in page.content.decode()


def test_the_forms_show_no_template_comment(client_for, org):
    """A `{# … #}` comment spans one line only: one written over two was shown on every form as text."""
    text = client_for(org.rep_a).get(reverse("password_change")).content.decode()
    assert "{#" not in text and "Escaped: a help text" not in text
