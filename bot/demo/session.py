"""The interactive session: read a line, do it, show what the bot says.

A watcher shows every Slack call and Semaphore pipeline as it happens, also while the prompt
is up. After each command the session waits briefly for the bot's answer to arrive (until
Slack is quiet for a moment), so replies appear before the next prompt. Anything going wrong
with one command is one line; the session goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.demo import inputs as cmd
from bot.demo.feed import Feed
from bot.demo.people import Person, find
from bot.demo.terminal import Terminal
from bot.demo.world import Outcomes, alert_payload, busy
from bot.scenarios.harness import Harness
from bot.scenarios.slack_driver import SlackDriver

POLL = 0.05
#: The bot's answer has arrived when Slack has been quiet this long (at most SETTLE_MAX).
QUIET, SETTLE_MAX = 0.3, 3.0
WAIT_MAX = 180.0


@dataclass
class Watcher:
    """Shows what happens in Slack and Semaphore; disarms one-shot outcomes."""

    harness: Harness
    feed: Feed
    outcomes: Outcomes
    seq: int = 0
    last_change: float = 0.0

    async def poll(self) -> None:
        loop = asyncio.get_running_loop()
        before = len(self.harness.standin.calls) if self.harness.standin else 0
        self.feed.poll()
        response = await self.harness.control.get("/_sim/events", params={"since": self.seq})
        events = [e for e in response.json()["events"] if e["seq"] > self.seq]
        for event in events:
            self.seq = max(self.seq, int(event["seq"]))
            self.feed.show_pipeline(event)
        await self.outcomes.observe(events)
        if events or (self.harness.standin and len(self.harness.standin.calls) != before):
            self.last_change = loop.time()

    async def run(self) -> None:
        while True:
            try:
                await self.poll()
            except Exception as exc:
                self.feed.terminal.say(f"(could not read what happened: {exc})")
            await asyncio.sleep(POLL)

    async def settle(self, quiet: float = QUIET, limit: float = SETTLE_MAX) -> None:
        loop = asyncio.get_running_loop()
        start = self.last_change = loop.time()
        while loop.time() - start < limit and loop.time() - self.last_change < quiet:
            await asyncio.sleep(POLL)


@dataclass
class Session:
    harness: Harness
    feed: Feed
    watcher: Watcher
    terminal: Terminal
    people: list[Person]
    person: Person
    project: str
    alarms: dict[str, datetime] = field(default_factory=dict)
    _shas: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def slack(self) -> SlackDriver:
        assert self.harness.slack is not None, "Slack is not running"
        return self.harness.slack

    def show_prompt(self) -> None:
        self.terminal.prompt = f"{self.person.label} › "
        self.terminal.ask()

    async def run(self) -> None:
        self.terminal.start_reading()
        while True:
            self.show_prompt()
            line = await self.terminal.line()
            if line is None:
                return
            parsed = cmd.parse_line(line)
            if isinstance(parsed, cmd.Quit):
                return
            try:
                await self.do(parsed, self.person)
            except Exception as exc:
                self.terminal.say(f"that did not work: {exc.__class__.__name__}: {exc}")

    async def do(self, parsed: cmd.Command | cmd.Hint, person: Person) -> None:
        if isinstance(parsed, cmd.Hint):
            self.terminal.say(f"hint: {parsed.text}")
        elif isinstance(parsed, cmd.Help):
            names = ", ".join(p.label for p in self.people)
            self.terminal.show(cmd.HELP.format(people=names).splitlines())
        elif isinstance(parsed, cmd.As):
            await self._as(parsed)
        elif isinstance(parsed, cmd.Wait):
            await self._wait(parsed.seconds)
        elif not isinstance(parsed, cmd.Nothing | cmd.Quit):
            await self._act(parsed, person)
            await self.watcher.settle()

    async def _as(self, parsed: cmd.As) -> None:
        who = find(self.people, parsed.person)
        if who is None:
            names = ", ".join(p.name for p in self.people)
            self.terminal.say(f"hint: no one called {parsed.person!r}; pick one of {names}")
        elif parsed.then is None:
            self.person = who
            self.terminal.say(f"you are now {who.label}")
        else:
            await self.do(parsed.then, who)

    async def _act(self, parsed: cmd.Command, person: Person) -> None:
        if isinstance(parsed, cmd.Deploy):
            self.feed.expect_modal(person.user)
            answer = await self.slack.command(parsed.text, person.user)
            self.feed.show_reply(answer.text if answer.status_code == 200 else "")
        elif isinstance(parsed, cmd.Push):
            await self._push(parsed.message, person.name)
        elif isinstance(parsed, cmd.Script):
            await self._script(parsed)
        elif isinstance(parsed, cmd.Alarm):
            await self._alarm(parsed)
        elif isinstance(parsed, cmd.Click):
            await self._click(parsed.number, person)
        elif isinstance(parsed, cmd.Submit):
            await self._submit(parsed.reason)
        elif isinstance(parsed, cmd.Cancel):
            closed = self.feed.modal is not None
            self.feed.modal = None
            self.terminal.say("modal closed" if closed else "hint: no modal is open")
        elif isinstance(parsed, cmd.Home):
            await self.slack.open_home(person.user)

    async def _push(self, message: str, author: str) -> None:
        """A commit by `author` (the person at the keyboard: Semaphore reports who pushed)."""
        n = next(self._shas)
        sha = hashlib.sha1(f"demo {n} {message} {datetime.now(UTC)}".encode()).hexdigest()
        await self.harness.push(sha, message, author=author)
        self.terminal.say(f"pushed {sha[:7]} {message!r} to main; Semaphore runs its CI")

    def _stage(self, stage: str) -> bool:
        stages = self.harness.config.project(self.project).stage_names
        if stage in stages:
            return True
        self.terminal.say(f"hint: no stage {stage!r}; the stages are {', '.join(stages)}")
        return False

    async def _script(self, parsed: cmd.Script) -> None:
        outcomes = self.watcher.outcomes
        if not self._stage(parsed.stage):
            return
        if parsed.stage not in outcomes.files:
            self.terminal.say(f"hint: no deploy pipeline for {parsed.stage} in the demo world")
            return
        await outcomes.next_result(parsed.stage, parsed.result, self.watcher.seq)
        verb = "fails" if parsed.result == "failed" else "passes"
        self.terminal.say(f"the next deployment to {parsed.stage} {verb}")

    async def _alarm(self, parsed: cmd.Alarm) -> None:
        if not self._stage(parsed.stage):
            return
        if parsed.firing:
            starts = self.alarms.setdefault(parsed.stage, datetime.now(UTC))
            status = "firing"
        elif parsed.stage in self.alarms:
            starts, status = self.alarms.pop(parsed.stage), "resolved"
        else:
            self.terminal.say(
                f"hint: no alarm is firing on {parsed.stage}; `alarm {parsed.stage}` first"
            )
            return
        answer = await self.harness.alert(alert_payload(self.project, parsed.stage, status, starts))
        said = "fires" if parsed.firing else "resolves"
        self.terminal.say(
            f"Alertmanager: DemoAlarm on {parsed.stage} {said} (HTTP {answer.status_code})"
        )

    async def _click(self, number: int, person: Person) -> None:
        button = self.feed.buttons.get(number)
        if button is None:
            shown = len(self.feed.buttons)
            known = f"1-{shown}" if shown else "none yet"
            self.terminal.say(f"hint: no button [{number}]; buttons shown so far: {known}")
            return
        label = (button.action.get("text") or {}).get("text", "")
        self.terminal.say(f"{person.name} clicks [{number} {label}]")
        if button.view is not None:
            await self.slack.click(button.action, person.user, view=button.view)
        else:
            await self.slack.click(button.action, person.user, message=button.message,
                                   channel=button.channel or "C0DEMO")  # fmt: skip

    async def _submit(self, reason: str) -> None:
        modal = self.feed.modal
        if modal is None:
            self.terminal.say("hint: no modal is open; `/deploy rollback STAGE` opens one")
            return
        reason = reason or _initial_reason(modal.view)
        values = {"reason": {"reason_input": {"type": "plain_text_input", "value": reason}}}
        answer = await self.slack.submit(modal.view, modal.user, values)
        errors = _errors(answer.text)
        if errors:
            self.terminal.say(f"the modal says: {errors} (`submit REASON`)")
            return
        self.feed.modal = None
        self.terminal.say("submitted")

    async def _wait(self, seconds: float | None) -> None:
        loop = asyncio.get_running_loop()
        if seconds is not None:
            await asyncio.sleep(seconds)
            return
        deadline = loop.time() + WAIT_MAX
        while loop.time() < deadline:
            if not await busy(self.harness, self.project):
                await self.watcher.settle(quiet=0.5)
                if not await busy(self.harness, self.project):
                    self.terminal.say("(nothing is deploying or baking)")
                    return
            await asyncio.sleep(0.2)
        self.terminal.say(f"(still busy after {WAIT_MAX:g}s; `wait` again or carry on)")


def _initial_reason(view: dict[str, Any]) -> str:
    for block in view.get("blocks", []):
        if block.get("type") == "input":
            return str(block.get("element", {}).get("initial_value", ""))
    return ""


def _errors(body: str) -> str:
    try:
        answer = json.loads(body) if body.strip() else {}
    except ValueError:
        return ""
    errors = answer.get("errors") if isinstance(answer, dict) else None
    return "; ".join(str(v) for v in errors.values()) if isinstance(errors, dict) else ""
