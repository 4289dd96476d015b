"""Slack's limits are enforced in the builder layer: long input is cut with an ellipsis, never
rejected, and slack_sdk's own models accept the result."""

from __future__ import annotations

import pytest

from bot.slack.escape import ELLIPSIS, escape, link, mention, truncate
from bot.slack.render import blocks as b
from tests.slack.support import valid_message, valid_view


@pytest.mark.parametrize(
    ("build", "read", "limit"),
    [
        (lambda t: b.section(t), lambda blk: blk["text"]["text"], 3000),
        (lambda t: b.header(t), lambda blk: blk["text"]["text"], 150),
        (lambda t: b.button(t, "a"), lambda blk: blk["text"]["text"], 75),
        (lambda t: b.button("x", "a", value=t), lambda blk: blk["value"], 2000),
        (lambda t: b.button("x", t), lambda blk: blk["action_id"], 255),
        (lambda t: b.section("x", block_id=t), lambda blk: blk["block_id"], 255),
        (lambda t: b.context(t), lambda blk: blk["elements"][0]["text"], 2000),
        (lambda t: b.modal(t, "cb", [b.divider()], "Go"), lambda v: v["title"]["text"], 24),
        (lambda t: b.modal("T", "cb", [b.divider()], t), lambda v: v["submit"]["text"], 24),
        (lambda t: b.modal("T", t, [b.divider()], "Go"), lambda v: v["callback_id"], 255),
        (
            lambda t: b.modal("T", "cb", [b.divider()], "Go", private_metadata=t),
            lambda v: v["private_metadata"],
            3000,
        ),
        (lambda t: b.message(t, [b.divider()]), lambda m: m["text"], 4000),
    ],
    ids=[
        "section-text-3000",
        "header-text-150",
        "button-text-75",
        "button-value-2000",
        "action-id-255",
        "block-id-255",
        "context-text-2000",
        "modal-title-24",
        "modal-submit-24",
        "callback-id-255",
        "private-metadata-3000",
        "fallback-text-4000",
    ],
)
def test_text_over_a_limit_is_cut_to_the_limit(build, read, limit) -> None:  # type: ignore[no-untyped-def]
    long = "y" * (limit * 3)
    assert len(read(build(long))) <= limit
    exact = "y" * limit
    assert read(build(exact)) == exact


def test_cut_text_ends_in_an_ellipsis() -> None:
    assert b.section("y" * 5000)["text"]["text"].endswith(ELLIPSIS)
    assert b.header("y" * 500)["text"]["text"].endswith(ELLIPSIS)


@pytest.mark.parametrize(
    ("wrap", "limit"),
    [
        (lambda blocks: b.message("t", blocks), 50),
        (lambda blocks: b.home(blocks), 100),
        (lambda blocks: b.modal("T", "cb", blocks, "Go"), 100),
    ],
    ids=["message-50", "home-100", "modal-100"],
)
def test_too_many_blocks_are_capped_with_a_note_of_how_many_were_left_out(wrap, limit) -> None:  # type: ignore[no-untyped-def]
    rendered = wrap([b.section(f"s{i}") for i in range(limit + 30)])
    assert len(rendered["blocks"]) == limit
    assert "31 more not shown" in rendered["blocks"][-1]["elements"][0]["text"]
    assert len(wrap([b.section("s")] * limit)["blocks"]) == limit


def test_actions_block_holds_at_most_25_elements() -> None:
    assert len(b.actions([b.button(str(i), f"a{i}") for i in range(40)])["elements"]) == 25


def test_context_block_holds_at_most_10_elements() -> None:
    assert len(b.context(*[str(i) for i in range(15)])["elements"]) == 10


def test_built_blocks_at_every_limit_pass_slack_sdks_validation() -> None:
    long = "z" * 10_000
    blocks = [
        b.header(long, block_id=long),
        b.section(long, block_id="s", accessory=b.button(long, long, long)),
        b.actions([b.button(long, f"{i}{long}", long) for i in range(30)]),
        b.context(*[long] * 12),
        *b.sections([long, long, "short"], block_id="many"),
    ]
    valid_message(b.message(long, blocks * 20))
    valid_view(b.home(blocks * 40))
    valid_view(
        b.modal(
            long, long, [*blocks, b.text_input(long, long, long, long, long)] * 30, long, long, long
        )
    )


def test_sections_split_lines_so_each_fits() -> None:
    found = b.sections(["x" * 1000] * 7)
    assert [len(s["text"]["text"]) for s in found] == [2001, 2001, 2001, 1000]


def test_empty_text_becomes_a_space_slack_accepts() -> None:
    valid_message(b.message("t", [b.section(""), b.header(""), b.context("")]))


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("abcdefghij", 5, "abcd…"),
        ("ab &amp; cd", 6, "ab …"),  # never half an entity
        ("see <https://x.example/a|docs> now", 15, "see …"),  # never half a link
        ("x", 0, ""),
    ],
)
def test_truncate_never_leaves_half_an_entity_or_link(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here|here>", "&lt;!here|here&gt;"),
        ("<https://evil.example|docs>", "&lt;https://evil.example|docs&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("a & b", "a &amp; b"),
        ("&lt;", "&amp;lt;"),
        ("*bold* _it_", "*bold* _it_"),
    ],
)
def test_escape_makes_control_sequences_literal(raw: str, shown: str) -> None:
    assert escape(raw) == shown


def test_link_escapes_its_label_and_refuses_unsafe_urls() -> None:
    assert link("https://acme.semaphoreci.com/workflows/wf-1", "<!channel>") == (
        "<https://acme.semaphoreci.com/workflows/wf-1|&lt;!channel&gt;>"
    )
    assert link("javascript:alert(1)", "x") == "x"
    assert link("https://a.example/|<!channel>", "x") == "x"


@pytest.mark.parametrize(
    ("actor", "shown"),
    [
        ("U024BE7LH", "<@U024BE7LH>"),
        ("S01GROUP", "group S01GROUP"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("deploybot", "deploybot"),
    ],
)
def test_mention_only_wraps_real_user_ids(actor: str, shown: str) -> None:
    assert mention(actor) == shown


def test_button_values_round_trip_and_unreadable_values_give_none() -> None:
    value = b.encode_value(
        {"project": "shop", "stage": "prod", "deployment": "shop/prod/d1", "to": None}
    )
    assert value == '{"project":"shop","stage":"prod","deployment":"shop/prod/d1"}'
    assert b.decode_value(value) == {
        "project": "shop",
        "stage": "prod",
        "deployment": "shop/prod/d1",
    }
    assert b.decode_value("{not json") is None
    assert b.decode_value('{"a": 1}') is None
    assert b.decode_value("[]") is None
