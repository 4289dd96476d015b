"""What the bot says in Slack, shown in the terminal as it happens.

Every successful call the bot makes to the Slack stand-in is rendered once: messages posted
to the channel and replies in a change's thread, updates of a message (skipped when nothing
visible changed), ephemeral replies, the App Home and modals. Semaphore's pipelines show as
one line each when they start and end. Buttons get numbers for `click N`; a modal waits for
`submit`.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

from bot.demo.blocks import Block, Style, render_message, render_mrkdwn
from bot.demo.terminal import Terminal
from bot.standins.slack import Call, SlackStandIn

SILENT = {"auth.test", "usergroups.users.list"}


@dataclass(frozen=True)
class Button:
    action: Block
    #: The message it sits in ({ts, text, blocks}) and its channel, or the view it sits in.
    message: dict[str, Any] | None = None
    channel: str = ""
    view: dict[str, Any] | None = None


@dataclass
class Modal:
    view: dict[str, Any]
    user: str


def _json(value: Any) -> Any:
    """A form field that holds JSON (blocks, a view), decoded; any other value as it came (a
    ts such as `1700000000.000010` is text: read as a number it would become message 1)."""
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def message_number(ts: str) -> str:
    """The stand-in's timestamps count up: `1700000000.000007` is message 7."""
    tail = ts.rpartition(".")[2].lstrip("0")
    return tail or ts


@dataclass
class Feed:
    standin: SlackStandIn
    terminal: Terminal
    style: Style
    buttons: dict[int, Button] = field(default_factory=dict)
    modal: Modal | None = None
    _seen_calls: int = 0
    _shown: dict[str, list[str]] = field(default_factory=dict)
    _users: dict[str, str] = field(default_factory=dict)

    def name(self, user: str) -> str:
        return self.style.names.get(user, user)

    # -- Slack -----------------------------------------------------------------------------

    def poll(self) -> None:
        calls = self.standin.calls
        while self._seen_calls < len(calls):
            call = calls[self._seen_calls]
            self._seen_calls += 1
            if call.status == 200 and call.method not in SILENT:
                self.show_call(call)

    def show_call(self, call: Call) -> None:
        args = {key: _json(value) for key, value in call.args.items()}
        method = call.method
        if method == "views.publish":
            self._show_view(args, f"App Home of @{self.name(str(args.get('user_id', '')))}")
        elif method in ("views.open", "views.update", "views.push"):
            self._show_modal(args)
        elif method == "chat.postEphemeral":
            heading = f"only @{self.name(str(args.get('user', '')))} sees this"
            self._show_message(heading, args, None)
        elif method.startswith("response:"):
            self._show_message("reply to you (only you see this)", args, None)
        elif method == "chat.postMessage":
            channel = str(args.get("channel", ""))
            if args.get("thread_ts"):
                also = ", also sent to the channel" if args.get("reply_broadcast") else ""
                where = f"#{channel} · in the thread of message {message_number(str(args['thread_ts']))}{also}"
                self._show_message(where, args, None)
            else:
                self._show_message(f"#{channel} · new message", args, call)
        elif method == "chat.update":
            number = message_number(str(args.get("ts", "")))
            heading = f"#{args.get('channel', '')} · message {number} updated"
            self._show_message(heading, args, call, key=f"msg:{args.get('ts')}")
        else:
            self.terminal.show([self.style.dim(f"(slack {method})")])

    def _number_for(self, message: dict[str, Any] | None, channel: str,
                    view: dict[str, Any] | None) -> Any:  # fmt: skip
        def number(action: Block) -> int:
            n = len(self.buttons) + 1
            self.buttons[n] = Button(action, message, channel, view)
            return n

        return number

    def _show_message(self, heading: str, args: dict[str, Any], call: Call | None,
                      key: str | None = None) -> None:  # fmt: skip
        raw = args.get("blocks")
        blocks: list[Block] = raw if isinstance(raw, list) else []
        text = str(args.get("text", ""))
        channel = str(args.get("channel", ""))
        ts = self._ts_of(call, args)
        if call is not None and call.method == "chat.postMessage":
            heading = f"#{channel} · message {message_number(ts)}"
            key = f"msg:{ts}"
        if key is not None:
            preview = render_message(text, blocks, lambda _b: 0, Style())
            if self._shown.get(key) == preview:
                return
            self._shown[key] = preview
        message = {"ts": ts, "text": text, "blocks": blocks}
        lines = render_message(text, blocks, self._number_for(message, channel, None), self.style)
        self.terminal.show([self.style.title(f"── {heading}"), *("   " + line for line in lines)])

    def _ts_of(self, call: Call | None, args: dict[str, Any]) -> str:
        if call is None:
            return str(args.get("ts", ""))
        if call.method == "chat.update":
            return str(args.get("ts", ""))
        return str(call.answer.get("ts", ""))

    def _show_view(self, args: dict[str, Any], heading: str) -> None:
        view = _json(args.get("view")) or {}
        blocks = view.get("blocks", []) if isinstance(view, dict) else []
        key = f"view:{heading}"
        preview = render_message("", blocks, lambda _b: 0, Style())
        if self._shown.get(key) == preview:
            return
        self._shown[key] = preview
        lines = render_message("", blocks, self._number_for(None, "", view), self.style)
        self.terminal.show([self.style.title(f"── {heading}"), *("   " + line for line in lines)])

    def _show_modal(self, args: dict[str, Any]) -> None:
        view = _json(args.get("view")) or {}
        if not isinstance(view, dict):
            return
        title = render_mrkdwn(str((view.get("title") or {}).get("text", "")), self.style)
        lines = render_message(
            "", view.get("blocks", []), self._number_for(None, "", view), self.style
        )
        self.modal = Modal(view, self._users.get("modal", ""))
        hint = "type `submit [REASON]` to confirm, `cancel` to close it"
        self.terminal.show([
            self.style.title(f"── modal: {title}"),
            *("   " + line for line in lines),
            self.style.dim(f"   ({hint})"),
        ])  # fmt: skip

    def expect_modal(self, user: str) -> None:
        """The next modal opens for `user` (the person who typed the command)."""
        self._users["modal"] = user

    def show_reply(self, body: str) -> None:
        """The immediate answer to a slash command (help, a parse error), if any."""
        if not body.strip():
            return
        args = _json(body)
        if not isinstance(args, dict):
            args = {"text": body}
        self._show_message("reply to you (only you see this)", args, None)

    # -- Semaphore -------------------------------------------------------------------------

    def show_pipeline(self, event: dict[str, Any]) -> None:
        state, result = event.get("state"), event.get("result")
        if event.get("type") != "pipeline" or state not in ("running", "done"):
            return
        file = posixpath.basename(str(event.get("pipeline_file") or ""))
        sha = str(event.get("commit_sha") or "")[:7]
        what = "running" if state == "running" else str(result)
        mark = {"passed": "✔", "failed": "✘", "running": "…"}.get(what, "•")
        self.terminal.show([self.style.dim(f"   semaphore: {file} for {sha} {mark} {what}")])
