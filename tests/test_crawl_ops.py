"""The crawl of tests/test_crawl.py as sales ops and the director (the top of the tree): the same checks, in a
module of its own so that `make test`'s two workers share the crawl instead of one running it all."""

from __future__ import annotations

import pytest

from tests.test_crawl import CRAWLED_ROLES as CRAWLED_FIRST
from tests.test_crawl import (  # noqa: F401 (the fixture and the tests run here for this module's roles)
    ROLES,
    Crawl,
    check_navigation,
    crawls,
    test_no_link_a_role_is_shown_is_broken,
    test_no_page_or_form_answers_a_server_error,
    test_no_page_or_fragment_holds_code_the_content_security_policy_refuses,
    test_pages_show_numbers_and_names_in_words,
)

pytestmark = pytest.mark.django_db

CRAWLED_ROLES = [role for role in ROLES if role not in CRAWLED_FIRST]


@pytest.mark.parametrize("role", CRAWLED_ROLES)
def test_each_role_crawls_its_whole_navigation(crawls: dict[str, Crawl], role: str) -> None:  # noqa: F811
    check_navigation(crawls[role], role)
