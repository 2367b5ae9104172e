"""The one pagination rule (conference.web.listing.paging): what every list page and API list reads."""

from __future__ import annotations

import pytest

from conference.web.apikit import Page, page_fields
from conference.web.listing import MAX_PER_PAGE, PER_PAGE, Paging, clamped, page_count, paging, requested


@pytest.mark.parametrize(("total", "per_page", "pages"), [(0, 20, 1), (1, 20, 1), (20, 20, 1), (21, 20, 2), (45, 20, 3)])
def test_page_count(total, per_page, pages):
    assert page_count(total, per_page) == pages


def test_the_page_shown_its_rows_and_its_neighbours():
    at = paging(45, "2", None)
    assert (at.page, at.per_page, at.total, at.pages) == (2, PER_PAGE, 45, 3)
    assert (at.limit, at.offset, at.has_prev, at.has_next) == (20, 20, True, True)
    first, last = paging(45, "1"), paging(45, "3")
    assert (first.has_prev, first.has_next, last.has_prev, last.has_next) == (False, True, True, False)
    assert (last.offset, last.limit) == (40, 20)


@pytest.mark.parametrize("page", ["", None, "0", "-1", "abc", "1e3", "３", "2.0"])
def test_an_unreadable_page_is_the_first(page):
    assert paging(45, page).page == 1


def test_past_the_last_page_is_the_last_and_an_empty_list_one_empty_page():
    assert paging(45, "99999999").page == 3 and paging(45, "4").page == 3
    assert paging(0, "7") == Paging(page=1, per_page=PER_PAGE, total=0)
    assert paging(0, "7").offset == 0 and not paging(0, "7").has_next


def test_page_size_default_maximum_and_a_list_of_its_own_size():
    assert paging(500, "1", "abc").per_page == PER_PAGE
    assert paging(500, "1", "5").per_page == 5
    assert paging(5000, "1", "100000").per_page == MAX_PER_PAGE
    assert paging(500, "2", None, default=50).offset == 50


def test_a_list_counted_with_its_rows_is_clamped_after_reading():
    asked = requested("9", "10")
    assert (asked.limit, asked.offset) == (10, 80)
    assert clamped(asked, 95).page == 9 and clamped(asked, 25) == Paging(page=3, per_page=10, total=25)


def test_the_api_page_carries_the_same_numbers():
    at = paging(45, "3", "20")
    document = Page(items=[1, 2, 3, 4, 5], **page_fields(at))
    assert (document.total, document.page, document.per_page) == (45, 3, 20)
