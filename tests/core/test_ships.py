"""What ships (issue 16): the window of changes a deployment carries, and compare links."""

from __future__ import annotations

import pytest
from builders import change, deployment

from bot.core.model import DeploymentKind, DeploymentState, StageState
from bot.core.ships import SHOWN, Ships, compare_url, window
from bot.slack.render.ships import ships_lines


@pytest.mark.parametrize(
    ("repository", "expected"),
    [
        ("https://github.com/acme/shop", "https://github.com/acme/shop/compare/a1...b2"),
        ("https://github.com/acme/shop.git", "https://github.com/acme/shop/compare/a1...b2"),
        ("git@github.com:acme/shop.git", "https://github.com/acme/shop/compare/a1...b2"),
        ("https://gitlab.com/acme/web/shop", "https://gitlab.com/acme/web/shop/-/compare/a1...b2"),
        ("git@gitlab.com:acme/shop.git", "https://gitlab.com/acme/shop/-/compare/a1...b2"),
        (
            "https://bitbucket.org/acme/shop",
            "https://bitbucket.org/acme/shop/branches/compare/b2%0Da1",
        ),
        (
            "ssh://git@bitbucket.org/acme/shop.git",
            "https://bitbucket.org/acme/shop/branches/compare/b2%0Da1",
        ),
        ("https://git.example.com/acme/shop", None),  # an unknown host: no link at all
        ("https://github.com/", None),
        ("", None),
        ("javascript:alert(1)//github.com/a/b", None),
    ],
)
def test_compare_links_follow_each_hosts_form(repository: str, expected: str | None) -> None:
    assert compare_url(repository, "a1", "b2") == expected


def test_a_roll_forward_ships_what_came_after_the_stages_last_good_change() -> None:
    good = deployment(1, DeploymentState.DONE)
    head = deployment(5)
    assert window(head, StageState(good=(good,)), []) == (good.change, head.change)
    assert window(head, StageState(), []) == (None, head.change)  # nothing deployed here yet
    bad = StageState(good=(good,), bad=frozenset({good.change.sha}))
    assert window(head, bad, []) == (None, head.change)  # a change found bad is no base
    older = deployment(0, kind=DeploymentKind.EMERGENCY)
    assert window(older, StageState(good=(good,)), []) is None  # back in time: nothing new


def test_a_rollback_ships_the_changes_it_takes_away() -> None:
    base = deployment(1, DeploymentState.DONE)
    failed = deployment(4, DeploymentState.FAILED)
    rollback = deployment(1, kind=DeploymentKind.ROLLBACK)
    assert window(rollback, StageState(good=(base,)), [failed]) == (base.change, failed.change)
    assert window(rollback, StageState(good=(base,)), []) is None


def test_the_list_shows_ten_then_counts_and_escapes_what_people_wrote() -> None:
    changes = [
        change(n, message=f"<b>fix {n}</b>\nbody", author="<!channel>") for n in range(30, 18, -1)
    ]
    ships = Ships(head=changes[0], since=change(2), changes=tuple(changes[:SHOWN]), total=12)
    lines = ships_lines(ships)
    assert lines[0] == f":package: 12 changes since `{change(2).sha[:7]}`"  # no repository: no link
    assert len(lines) == 1 + SHOWN + 1 and lines[-1].strip() == "and 2 more"
    assert (
        lines[1].strip()
        == f"`{changes[0].sha[:7]}` &lt;b&gt;fix 30&lt;/b&gt; (by &lt;!channel&gt;)"
    )
    first = Ships(head=changes[0], since=None, changes=(changes[0],), total=1)
    assert ships_lines(first)[0] == ":package: 1 change, the first deployment here"
    back = Ships(head=changes[0], since=change(2), changes=(changes[0],), total=1, reverts=True)
    assert ships_lines(back)[0] == f":rewind: reverts 1 change, back to `{change(2).sha[:7]}`"
