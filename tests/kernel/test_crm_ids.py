"""Salesforce ids in their 15- and 18-character forms (salesops.kernel.crm_ids)."""

from __future__ import annotations

import pytest

from salesops.kernel.crm_ids import record_key, salesforce_id, salesforce_suffix


def test_the_18_character_form_is_the_15_with_the_capitals_spelled_out():
    # Salesforce's own worked example: a0D30000001n7Pi is a0D30000001n7PiEAI (CASESAFEID).
    assert salesforce_suffix("a0D30000001n7Pi") == "EAI"
    assert salesforce_id("a0D30000001n7Pi") == "a0D30000001n7PiEAI"


@pytest.mark.parametrize("written", ["a0D30000001n7PiEAI", "A0D30000001N7PIEAI", "a0d30000001n7pieai"])
def test_an_18_character_id_in_any_case_is_the_same_record(written):
    assert salesforce_id(written) == "a0D30000001n7PiEAI"
    assert record_key(written) == record_key("a0D30000001n7Pi") == "A0D30000001N7PIEAI"


def test_15_character_ids_that_differ_only_in_case_are_two_records():
    assert record_key("a0D30000001n7Pi") != record_key("a0d30000001n7pi")
    assert record_key("a0d30000001n7pi") == "A0D30000001N7PIAAA"


@pytest.mark.parametrize(
    "written",
    [
        "0061A00001",  # not 15 or 18 characters
        "0065g00000AbCd-",  # not letters and digits
        "a0D30000001n7PiEA9",  # 9 is none of the 32 characters
        "a0D30000001n7PIEAI",  # capitals and small letters the last 3 contradict: copied wrongly
        "123456789012345678",  # 7 and 8 are none of the 32 either
    ],
)
def test_other_ids_are_not_salesforce_ids_and_stay_as_written(written):
    assert salesforce_id(written) is None
    assert record_key(f" {written} ") == written
    assert record_key(f" {written} ", others_any_case=True) == written.lower()
