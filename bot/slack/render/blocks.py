"""The one place that builds Block Kit dicts and enforces Slack's limits.

Every renderer builds its blocks with these functions, so no message, modal or home view can
exceed a limit: text is cut with an ellipsis (`escape.truncate`) and block lists are capped
with a last context block saying how many were left out. Nothing here raises for long input.

Limits (docs.slack.dev, slack_sdk's model constants): 50 blocks per message, 100 per modal or
home view, 3000 characters of section text, 150 of header text, 75 of button text, 2000 of a
button value, 255 of an action_id, block_id or callback_id, 24 of a modal title, submit or
close label, 3000 of private_metadata, 25 elements per actions block, 10 per context block.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.model import REASON_LIMIT
from bot.slack.escape import truncate

Block = dict[str, Any]

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
#: A confirmation dialog's title and button labels, and its text.
DIALOG_TITLE = 30
DIALOG_TEXT = 300
ID_LENGTH = 255
MODAL_TITLE = 24
PRIVATE_METADATA = 3000
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 2000
INPUT_LABEL = 2000
INPUT_VALUE = 3000
#: Slack truncates longer top-level `text` and chat.update refuses it.
FALLBACK_TEXT = 4000


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    """`verbatim`: Slack leaves plain text as it is, so a bare URL or channel name someone typed
    (or an alert carried) is never turned into a link in deploybot's voice; deploybot's own
    `<url|label>` links and mentions still work."""
    return {"type": "mrkdwn", "text": truncate(text, limit) or " ", "verbatim": True}


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def _with_id(block: Block, block_id: str | None) -> Block:
    if block_id:
        block["block_id"] = truncate(block_id, ID_LENGTH)
    return block


def section(text: str, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if accessory is not None:
        block["accessory"] = accessory
    return _with_id(block, block_id)


def sections(lines: Sequence[str], block_id: str | None = None) -> list[Block]:
    """`lines` in as few sections as fit the 3000-character limit (a too-long line is cut)."""
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if chunks[-1] and size + len(line) + 1 > SECTION_TEXT:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    return [
        section("\n".join(chunk), block_id=f"{block_id}:{index}" if block_id else None)
        for index, chunk in enumerate(chunks)
        if chunk
    ]


def header(text: str, block_id: str | None = None) -> Block:
    return _with_id({"type": "header", "text": plain(text, HEADER_TEXT)}, block_id)


def context(*texts: str, block_id: str | None = None) -> Block:
    elements = [mrkdwn(text, CONTEXT_TEXT) for text in texts[:CONTEXT_ELEMENTS]]
    return _with_id({"type": "context", "elements": elements}, block_id)


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    value: str | None = None,
    style: str | None = None,
    confirm: tuple[str, str, str] | None = None,
) -> Block:
    """A button; `style` is `primary` or `danger`; `confirm`: (title, text, confirm label),
    Slack's "are you sure?" dialog before the click is sent."""
    element: Block = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT),
        "action_id": truncate(action_id, ID_LENGTH),
    }
    if value is not None:
        element["value"] = truncate(value, BUTTON_VALUE)
    if style is not None:
        element["style"] = style
    if confirm is not None:
        title, text_, yes = confirm
        element["confirm"] = {
            "title": plain(title, DIALOG_TITLE),
            "text": plain(text_, DIALOG_TEXT),
            "confirm": plain(yes, DIALOG_TITLE),
            "deny": plain("Cancel", DIALOG_TITLE),
        }
    return element


def actions(elements: Sequence[Block], block_id: str | None = None) -> Block:
    return _with_id({"type": "actions", "elements": list(elements[:ACTIONS_ELEMENTS])}, block_id)


def text_input(
    label: str, block_id: str, action_id: str, placeholder: str = "", initial: str = ""
) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": truncate(action_id, ID_LENGTH),
        "multiline": True,
        "max_length": REASON_LIMIT,
    }
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    if initial:
        element["initial_value"] = initial[:INPUT_VALUE]
    return {
        "type": "input",
        "block_id": truncate(block_id, ID_LENGTH),
        "label": plain(label, INPUT_LABEL),
        "element": element,
    }


#: JSON's string syntax (quotes and escapes; non-ASCII kept), as `json.dumps` writes it.
_json_string = json.encoder.encode_basestring


def encode_value(fields: Mapping[str, str | None]) -> str:
    """Compact JSON for a button value or private_metadata (None fields are left out): what
    `json.dumps(fields, separators=(",", ":"), ensure_ascii=False)` writes, without building
    an encoder for every button."""
    pairs = (
        f"{_json_string(key)}:{_json_string(value)}"
        for key, value in fields.items()
        if value is not None
    )
    return "{" + ",".join(pairs) + "}"


def decode_value(text: str) -> dict[str, str] | None:
    """The fields of `encode_value`'s output, or None when `text` is not such a value."""
    try:
        found = json.loads(text)
    except ValueError:
        return None
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        return None
    return {str(key): value for key, value in found.items()}


def capped(blocks: Sequence[Block], limit: int) -> list[Block]:
    """At most `limit` blocks; when cut, the last one says how many were left out."""
    if len(blocks) <= limit:
        return list(blocks)
    kept = list(blocks[: limit - 1])
    return [*kept, context(f"_{len(blocks) - len(kept)} more not shown (Slack's limit)_")]


def message(text: str, blocks: Sequence[Block]) -> dict[str, Any]:
    """A message: `text` is the notification fallback (mrkdwn, already escaped)."""
    return {"text": truncate(text, FALLBACK_TEXT), "blocks": capped(blocks, MESSAGE_BLOCKS)}


def home(blocks: Sequence[Block]) -> dict[str, Any]:
    return {"type": "home", "blocks": capped(blocks, VIEW_BLOCKS)}


def modal(
    title: str,
    callback_id: str,
    blocks: Sequence[Block],
    submit: str,
    close: str = "Cancel",
    private_metadata: str = "",
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": truncate(callback_id, ID_LENGTH),
        "title": plain(title, MODAL_TITLE),
        "submit": plain(submit, MODAL_TITLE),
        "close": plain(close, MODAL_TITLE),
        "private_metadata": private_metadata[:PRIVATE_METADATA],
        "blocks": capped(blocks, VIEW_BLOCKS),
    }
