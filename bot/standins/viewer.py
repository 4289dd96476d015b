"""What the Slack stand-in recorded, for people: an HTML page (newest call first) and JSON.

Text is shown as the bot sent it (Slack mrkdwn, with Slack's own `&lt;` escapes), and every
piece of it is HTML-escaped: a message can never inject markup into the page. Pure: calls in,
text out.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.standins.slack import Call

#: Seconds between reloads of the page (`?refresh=0` turns it off).
REFRESH = 3

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1d1c1d; }
.call { border-top: 1px solid #ddd; padding: .5em 0; }
.meta { color: #616061; font-size: 90%; }
.method { font-weight: bold; color: #1264a3; }
.failed { color: #e01e5a; }
pre { white-space: pre-wrap; margin: .3em 0; font-family: inherit; }
.blocks { border-left: 3px solid #ddd; padding-left: .6em; color: #454245; }
"""


def blocks_text(blocks: Sequence[Any]) -> list[str]:
    """The text a person reads in Slack blocks, in order; a button shows as `[label]`."""
    return list(_texts(list(blocks)))


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _texts(item)
    elif isinstance(node, dict):
        if node.get("type") == "button":
            label = node.get("text")
            label = label.get("text") if isinstance(label, dict) else label
            yield f"[{label}]"
            return
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            elif isinstance(value, dict | list):
                yield from _texts(value)


def summary(number: int, call: Call) -> dict[str, Any]:
    """One call as JSON: what was called, where, the text and the blocks' text."""
    args = call.args
    ts = args.get("ts") or call.answer.get("ts") or call.answer.get("message_ts")
    try:
        blocks = blocks_text(call.blocks)
    except (ValueError, TypeError, AttributeError):  # not JSON blocks: shown as they came
        blocks = [str(args.get("blocks"))]
    return {
        "number": number,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(call.wall)),
        "method": call.method,
        "status": call.status,
        "channel": args.get("channel") or args.get("user_id") or None,
        "ts": ts,
        "thread_ts": args.get("thread_ts"),
        "text": args.get("text"),
        "blocks_text": blocks,
        "args": args,
        "answer": call.answer,
    }


def as_json(calls: Sequence[Call]) -> list[dict[str, Any]]:
    """Every call, oldest first, numbered from 1."""
    return [summary(n, call) for n, call in enumerate(calls, start=1)]


def page(calls: Sequence[Call], *, refresh: int = REFRESH) -> str:
    """The page: every call, newest first."""
    items = [_item(entry) for entry in reversed(as_json(calls))]
    reload = f'<meta http-equiv="refresh" content="{refresh}">' if refresh > 0 else ""
    every = (
        f'Reloads every {refresh} s (<a href="?refresh=0">stop</a>).'
        if refresh > 0
        else f'Not reloading (<a href="?refresh={REFRESH}">reload every {REFRESH} s</a>).'
    )
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            "<title>Slack stand-in</title>",
            reload,
            f"<style>{_STYLE}</style></head><body>",
            "<h1>Slack stand-in: what the bot sent</h1>",
            f"<p>{len(calls)} call{'' if len(calls) == 1 else 's'} recorded, newest first. Text is shown as sent (Slack "
            f'mrkdwn). {every} As JSON: <a href="/_standin/calls">/_standin/calls</a>.</p>',
            *(items or ["<p>Nothing yet.</p>"]),
            "</body></html>",
        ]
    )


def _item(entry: dict[str, Any]) -> str:
    e = html.escape
    meta = [
        f"#{entry['number']}",
        e(entry["at"][11:19]),
        f'<span class="method">{e(entry["method"])}</span>',
    ]
    if entry["status"] != 200:
        meta.append(f'<span class="failed">answered {entry["status"]}</span>')
    for key in ("channel", "ts", "thread_ts"):
        if entry[key]:
            meta.append(f"{key} {e(str(entry[key]))}")
    parts = [f'<div class="call"><div class="meta">{" · ".join(meta)}</div>']
    if entry["text"]:
        parts.append(f'<pre class="text">{e(str(entry["text"]))}</pre>')
    if entry["blocks_text"]:
        parts.append(f'<pre class="blocks">{e(chr(10).join(entry["blocks_text"]))}</pre>')
    parts.append("</div>")
    return "".join(parts)
