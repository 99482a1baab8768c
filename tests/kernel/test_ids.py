"""salesops.kernel.ids: the one rule of a row id in text, as a check (`is_id`), as a URL route's pattern
(`ID_PATTERN`) and in the words refusing a parameter that breaks it (`not_an_id`)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.kernel.ids import ID_PATTERN, is_id, not_an_id


@given(st.one_of(st.text(), st.text(alphabet="0123456789²٣ \n_.-", max_size=25)))
def test_a_route_takes_what_the_check_takes(text):
    assert bool(re.fullmatch(ID_PATTERN, text)) == is_id(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", True), ("0", True), ("9" * 18, True), ("9" * 19, False), ("", False), (" 12", False), ("12\n", False),
     ("1.5", False), ("1_0", False), ("²", False), ("-3", False)],
)  # fmt: skip
def test_an_id_is_one_to_eighteen_ascii_digits(text, expected):
    assert is_id(text) is expected
    assert bool(re.fullmatch(ID_PATTERN, text)) is expected


def test_a_parameter_that_is_not_an_id_is_refused_naming_it():
    assert not_an_id("person", "1.5") == "person: '1.5' is not an id (whole digits, e.g. ?person=12)."
    assert not_an_id("account", "x" * 50) == f"account: '{'x' * 40}…' is not an id (whole digits, e.g. ?account=12)."
