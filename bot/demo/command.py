"""`deploybot demo [--scenario NAME] [--config FILE] [--log FILE]`.

Starts the Semaphore simulator (its built-in `demo` world), the Slack stand-in and the bot on
loopback, with state in the embedded store: no credentials, no services. Then either the
interactive session, or one scenario of the runner played in the same view. The bot's logs
are off (or go to `--log FILE`), so the terminal shows only what people would see. Exit
status: 0 done, 1 a scenario got stuck, 2 bad arguments or configuration.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.config.errors import ConfigError
from bot.config.loader import load_config_text
from bot.demo.blocks import Style
from bot.demo.feed import Feed
from bot.demo.people import people
from bot.demo.session import Session, Watcher
from bot.demo.terminal import Terminal
from bot.demo.world import Outcomes, demo_world, stage_files
from bot.scenarios.catalog import SCENARIOS, find
from bot.scenarios.harness import Harness, running
from bot.scenarios.play import Play, ScenarioError
from bot.scenarios.runner import offset_clock
from bot.service.stages import utcnow

PROG = "deploybot demo"
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "demo.yml"
#: How long each simulated Semaphore pipeline runs in the interactive demo.
PIPELINE_SECONDS = 1.0


def demo_command(scenario: str | None, config: str | None, log_file: str | None) -> int:
    started = time.monotonic()
    terminal = Terminal()
    if scenario is not None:
        try:
            find(scenario)
        except ScenarioError as exc:
            return _refuse(str(exc))
    path = Path(config) if config else DEMO_CONFIG
    try:
        text = path.read_text(encoding="utf-8")
        load_config_text(text, str(path))
    except OSError as exc:
        return _refuse(f"cannot read {path}: {exc.strerror or exc}")
    except ConfigError as exc:
        more = len(exc.problems) - 1
        also = f" (and {more} more: see `deploybot check-config {path}`)" if more else ""
        return _refuse(f"{path} is not a valid configuration: {exc.problems[0]}{also}")
    restore = _quiet_logs(log_file)
    try:
        if scenario is not None:
            return asyncio.run(_scenario(scenario, terminal))
        asyncio.run(_interactive(text, terminal, started))
    except KeyboardInterrupt:
        terminal.show(["", "bye"])
    finally:
        restore()
    return 0


def _quiet_logs(log_file: str | None) -> Callable[[], None]:
    """Keep the terminal readable: logs go to `log_file` or nowhere. Returns the undo."""
    root = logging.getLogger()
    saved, saved_level = list(root.handlers), root.level
    for old in saved:
        root.removeHandler(old)
    handler: logging.Handler
    if log_file:
        handler = logging.FileHandler(log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.setLevel(logging.INFO)
    else:
        handler = logging.NullHandler()
        logging.disable(logging.CRITICAL)
    root.addHandler(handler)

    def restore() -> None:
        logging.disable(logging.NOTSET)
        root.removeHandler(handler)
        handler.close()
        for kept in saved:
            root.addHandler(kept)
        root.setLevel(saved_level)

    return restore


def _refuse(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2


def _view(harness: Harness, terminal: Terminal) -> Watcher:
    assert harness.standin is not None
    everyone = people(harness.config)
    style = Style(color=terminal.color, names={p.user: p.name for p in everyone})
    feed = Feed(harness.standin, terminal, style)
    project = harness.config.projects[0]
    return Watcher(harness, feed, Outcomes(harness, stage_files(harness.sim.world, project)))


async def _interactive(config_text: str, terminal: Terminal, started: float) -> None:
    world = demo_world(load_config_text(config_text))
    async with running(
        config_text, world=world, slack=True, default_duration=PIPELINE_SECONDS
    ) as harness:
        project = harness.config.projects[0]
        harness.project = project.name
        watcher = _view(harness, terminal)
        everyone = people(harness.config)
        session = Session(harness, watcher.feed, watcher, terminal, everyone, everyone[0],
                          project.name)  # fmt: skip
        terminal.show(_banner(harness, session, time.monotonic() - started))
        task = asyncio.create_task(watcher.run())
        try:
            await session.run()
        finally:
            task.cancel()
    terminal.show(["bye"])


def _banner(harness: Harness, session: Session, seconds: float) -> list[str]:
    project = harness.config.project(session.project)
    stages = []
    for stage in project.stages:
        bake = f", bakes {stage.bake.total_seconds():g}s" if stage.bake else ""
        stages.append(f"{stage.name} (rollback {stage.rollback.policy.value}{bake})")
    return [
        f"deploybot demo: the bot, a Semaphore simulator and a Slack stand-in on loopback; "
        f"state in memory (ready in {seconds:.1f}s).",
        f"Project {project.name} deploys main through: {' → '.join(stages)}.",
        "People: "
        + ", ".join(p.label for p in session.people)
        + f". You are {session.person.name}.",
        "Try: `push`, `/deploy status`, `/deploy block prod Investigating`, `help`; `quit` ends it.",
    ]


async def _scenario(name: str, terminal: Terminal) -> int:
    scenario = SCENARIOS[name]
    variant = scenario.with_bot
    clock = None
    if variant.clock_start is not None:
        wall = datetime.now(UTC)
        clock = offset_clock(variant.clock_start(wall) - wall)
    async with running(
        variant.config, world=variant.world(), clock=clock, slack=True, gofer=variant.gofer
    ) as harness:
        watcher = _view(harness, terminal)
        terminal.show([f"scenario {name}: {scenario.summary}"])
        task = asyncio.create_task(watcher.run())
        play = Play(harness, clock=clock or utcnow)
        try:
            await variant.play(play)
            await watcher.settle(quiet=1.0, limit=5.0)
        except ScenarioError as exc:
            terminal.show([f"{PROG} --scenario {name}: {exc}"])
            return 1
        finally:
            task.cancel()
    labels = ", ".join(f"{label} = {sha[:7]}" for label, sha in play.commits.items())
    notes = [f"  {at:%H:%M:%S} {text}" for at, text in play.notes]
    played = f"scenario {name} played" + (f" (commits: {labels})" if labels else "")
    terminal.show([played, *(["what the scenario did besides:", *notes] if notes else [])])
    return 0
