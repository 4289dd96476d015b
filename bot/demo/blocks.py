"""Block Kit as terminal text: headers, sections, fields, context, dividers, inputs and
buttons, each button shown as `[N Label]` with the number `click N` presses.

    render_blocks(blocks, number, style) -> list[str]
    render_mrkdwn(text, style) -> str

`number(button)` registers a button (a Block Kit button dict with its `block_id`) and returns
its number. Slack's mrkdwn is made plain: `*bold*` is bold (plain without colour), code fences go,
`<@U123>` is `@U123` (or the demo's name for that user), links show their text, entities are
unescaped, and the emoji shortcodes deploybot uses are shown as emoji.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Block = dict[str, Any]
Numberer = Callable[[Block], int]

EMOJI = {
    "no_entry": "⛔", "white_check_mark": "✅", "hourglass_flowing_sand": "⏳", "snowflake": "❄️",
    "rotating_light": "🚨", "inbox_tray": "📥", "arrows_counterclockwise": "🔄", "x": "❌",
    "warning": "⚠️", "no_entry_sign": "🚫", "large_green_circle": "🟢", "heavy_minus_sign": "➖",
    "fast_forward": "⏩", "rewind": "⏪", "double_vertical_bar": "⏸️", "ambulance": "🚑",
    "ballot_box_with_check": "☑️", "white_circle": "⚪", "sunny": "☀️", "information_source": "ℹ️",
    "heavy_multiplication_x": "✖️", "clock3": "🕒", "calendar": "📅", "boom": "💥",
    "arrow_forward": "▶️", "package": "📦", "raised_hand": "✋",
    "hourglass": "⌛", "bar_chart": "📊",
}  # fmt: skip

_EMOJI = re.compile(r":([a-z0-9_+-]+):")
_ANGLE = re.compile(r"<([^<>]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")


@dataclass(frozen=True)
class Style:
    """ANSI styling (off when the output is not a terminal, or NO_COLOR is set)."""

    color: bool = False
    #: Slack user id -> the name the demo gives that person.
    names: Mapping[str, str] = field(default_factory=dict)

    def _sgr(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self._sgr("1", text)

    def dim(self, text: str) -> str:
        return self._sgr("2", text)

    def button(self, text: str) -> str:
        return self._sgr("1;36", text)

    def title(self, text: str) -> str:
        return self._sgr("1;33", text)


def render_mrkdwn(text: str, style: Style) -> str:
    def angle(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            user = target[1:]
            return "@" + style.names.get(user, user)
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return label or target

    def emoji(match: re.Match[str]) -> str:
        return EMOJI.get(match.group(1), match.group(0))

    plain = _ANGLE.sub(angle, text)
    plain = _BOLD.sub(lambda m: style.bold(m.group(1)), plain).replace("```", "")
    return html.unescape(_EMOJI.sub(emoji, plain))


def _text(obj: Any, style: Style) -> str:
    if not isinstance(obj, dict):
        return ""
    raw = str(obj.get("text", ""))
    return render_mrkdwn(raw, style) if obj.get("type") == "mrkdwn" else html.unescape(raw)


def _button(element: Block, block_id: str, number: Numberer, style: Style) -> str:
    label = _text(element.get("text"), style)
    n = number({**element, "block_id": element.get("block_id", block_id)})
    return style.button(f"[{n} {label}]")


def render_block(block: Block, number: Numberer, style: Style) -> list[str]:
    kind = block.get("type")
    block_id = str(block.get("block_id", ""))
    if kind == "header":
        return [style.title(_text(block.get("text"), style))]
    if kind == "divider":
        return [style.dim("─" * 40)]
    if kind == "context":
        parts = [_text(e, style) for e in block.get("elements", [])]
        return [style.dim("  ".join(p for p in parts if p))]
    if kind == "actions":
        found = [
            _button(e, block_id, number, style)
            for e in block.get("elements", [])
            if e.get("type") == "button"
        ]
        return [" ".join(found)] if found else []
    if kind == "input":
        element = block.get("element", {})
        initial = str(element.get("initial_value", "")) or "…"
        return [f"{_text(block.get('label'), style)} {style.dim('[' + initial + ']')}"]
    if kind == "section":
        lines = _text(block.get("text"), style).splitlines() if block.get("text") else []
        for item in block.get("fields", []):
            lines += _text(item, style).splitlines()
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "button":
            shown = _button(accessory, block_id, number, style)
            lines = [*lines[:-1], f"{lines[-1]}  {shown}"] if lines else [shown]
        return lines
    return [style.dim(f"[{kind} block]")]


def render_blocks(blocks: list[Block], number: Numberer, style: Style) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        lines += render_block(block, number, style)
    return lines


def render_message(text: str, blocks: list[Block], number: Numberer, style: Style) -> list[str]:
    """A message's blocks, or its fallback text when it has none."""
    if blocks:
        return render_blocks(blocks, number, style)
    return render_mrkdwn(text, style).splitlines() or [""]
