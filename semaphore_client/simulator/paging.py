"""Pagination as the API does it: page numbers with ``link`` headers, and history cursors."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TypeVar
from urllib.parse import urlencode

from semaphore_client.simulator.records import SimDeployment, SimError

T = TypeVar("T")
HISTORY_PAGE = 10


def page_numbers(
    items: Sequence[T], query: Mapping[str, str], url: str, default_size: int, max_size: int
) -> tuple[list[T], dict[str, str]]:
    """One page of ``items`` and the headers (``link``, ``page-number``, ``per-page``…).

    Links reuse the request's query with another ``page`` on ``http://`` + host, like the API.
    """
    page = _positive(query.get("page", "1"), "page")
    size = _positive(query.get("page_size", str(default_size)), "page_size")
    if size >= max_size:
        raise SimError(400, f"Page size can't exceed {max_size - 1}.")
    pages = max(1, math.ceil(len(items) / size))
    chosen = list(items[(page - 1) * size : page * size])

    def link(number: int, rel: str) -> str:
        return f'<{url}?{urlencode({**query, "page": number})}>; rel="{rel}"'

    links = [link(page + 1, "next")] if page < pages else []
    if page > 1:
        links.append(link(page - 1, "prev"))
    links += [link(1, "first"), link(pages, "last")]
    headers = {
        "link": ", ".join(links),
        "page-number": str(page),
        "per-page": str(size),
        "total": str(len(items)),
        "total-pages": str(pages),
    }
    return chosen, headers


def _positive(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SimError(400, f"Invalid value of '{name}' param: {value!r}.")
    return number


def history_page(
    entries: Sequence[SimDeployment], cursor_type: str, cursor_value: int
) -> tuple[list[SimDeployment], int, int]:
    """At most 10 entries newest first, with ``cursor_before``/``cursor_after`` (0 = none)."""
    ordered = sorted(entries, key=lambda d: d.triggered_at_us, reverse=True)
    if cursor_type == "BEFORE":
        chosen = [d for d in ordered if d.triggered_at_us < cursor_value][:HISTORY_PAGE]
    elif cursor_type == "AFTER":
        newer = [d for d in ordered if d.triggered_at_us > cursor_value]
        chosen = newer[-HISTORY_PAGE:] if len(newer) > HISTORY_PAGE else ordered[:HISTORY_PAGE]
    else:
        chosen = ordered[:HISTORY_PAGE]
    if not chosen:
        return [], 0, 0
    oldest, newest = chosen[-1].triggered_at_us, chosen[0].triggered_at_us
    before = oldest if any(d.triggered_at_us < oldest for d in ordered) else 0
    after = newest if any(d.triggered_at_us > newest for d in ordered) else 0
    return chosen, before, after


def history_matches(entry: SimDeployment, query: Mapping[str, str]) -> bool:
    """The history filters, ANDed; blank ones are ignored."""
    exact = {
        "git_ref_type": entry.git_ref_type,
        "git_ref_label": entry.git_ref_label,
        "triggered_by": entry.triggered_by,
    }
    for name, actual in exact.items():
        if query.get(name) and query[name] != actual:
            return False
    spec = entry.target.spec
    bookmarks = [spec.bookmark_parameter1, spec.bookmark_parameter2, spec.bookmark_parameter3]
    for number, bookmark in enumerate(bookmarks, start=1):
        wanted = query.get(f"parameter{number}", "")
        if wanted and not _parameter_matches(wanted, entry.env_vars.get(bookmark, "")):
            return False
    return True


def _parameter_matches(pattern: str, value: str) -> bool:
    if len(pattern) > 100:
        return False
    if "*" in pattern or "%" in pattern:
        regex = ".*".join(re.escape(part) for part in re.split(r"[*%]", pattern))
        return re.fullmatch(regex, value) is not None
    if any(ch in pattern for ch in ".+?[]{}|\\"):
        try:
            return re.fullmatch(pattern, value) is not None
        except re.error:
            return pattern == value
    return pattern == value
