"""The issue's walk-through, typed into `deploybot demo` in a pseudo-terminal: a push deploys
to beta and prod, `/deploy block prod` holds the next push, clicking Unblock resumes it, and
`fail prod` followed by Approve rolls back, all seen in the rendered channel.

The demo runs examples/demo.yml with its bakes shortened (10s and 30s would make this test
slow, nothing else differs); every step waits for what it expects to be shown."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.demo.pty_session import DemoTerminal

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "alice (block) › "


@pytest.fixture
def fast_config(tmp_path: Path) -> Path:
    text = (ROOT / "examples" / "demo.yml").read_text()
    fast = text.replace("bake: 10s", "bake: 1s").replace("bake: 30s", "bake: 2s")
    assert fast.count("bake: 1s") == 1 and fast.count("bake: 2s") == 1, "demo.yml's bakes moved"
    path = tmp_path / "demo.yml"
    path.write_text(fast)
    return path


@pytest.fixture
def demo(fast_config: Path) -> Iterator[DemoTerminal]:
    terminal = DemoTerminal("--config", str(fast_config), cwd=ROOT)
    try:
        yield terminal
    finally:
        terminal.close()


def pushed(demo: DemoTerminal, message: str) -> str:
    demo.send(f"push {message}")
    return demo.expect(rf"pushed ([0-9a-f]{{7}}) '{message}' to main").group(1)


def settled(demo: DemoTerminal, since: int | None = None) -> str:
    """`wait` until nothing deploys or bakes; what was shown since `since` (or the wait)."""
    start = demo.send("wait")
    demo.expect(r"\(nothing is deploying or baking\)", timeout=30)
    return demo.since(start if since is None else since)


def test_push_block_unblock_fail_and_approve_rollback(demo: DemoTerminal) -> None:
    demo.expect(re.escape(PROMPT), timeout=15)

    a = pushed(demo, "first")
    shown = settled(demo)
    assert f"semaphore: semaphore.yml for {a} ✔ passed" in shown
    assert f"beta: rollforward of {a} to beta started" in shown
    assert f"prod: rollforward of {a} to prod finished baking" in shown
    assert re.search(rf"demo `{a}` first by .*\n\s+beta\s+✅ done.*\n\s+prod\s+✅ done", shown)

    demo.send("/deploy block prod Investigating a latency regression")
    demo.expect(r"reply to you \(only you see this\)\n\s+⛔ Blocked demo/prod")
    unblock = demo.expect(
        r"⛔ Investigating a latency regression \(by @alice\) · id `\w+`\s+\[(\d+) Unblock\]"
    ).group(1)

    b = pushed(demo, "second")
    shown = settled(demo)
    assert f"prod: {b} queued for prod" in shown
    assert "prod: Queue held: Investigating a latency regression" in shown
    assert f"rollforward of {b} to prod started" not in shown

    clicked = demo.send(f"click {unblock}")
    demo.expect(rf"alice clicks \[{unblock} Unblock\]")
    demo.expect(r"@alice lifted the blocker at")
    shown = settled(demo, since=clicked)
    assert f"prod: rollforward of {b} to prod started" in shown
    assert f"prod: rollforward of {b} to prod finished baking" in shown

    failing = demo.send("fail prod")
    demo.expect("the next deployment to prod fails")
    c = pushed(demo, "third")
    shown = settled(demo, since=failing)
    assert f"prod: rollforward of {c} to prod failed" in shown
    approve = re.search(
        rf"Roll back to {b}\?.*?\[(\d+) Approve rollback\] \[\d+ Dismiss\]", shown, re.S
    )
    assert approve, shown

    demo.send(f"click {approve.group(1)}")  # alice may block, not approve
    demo.expect(r"You need the approve role")
    approved = demo.send(f"as bob click {approve.group(1)}")
    demo.expect(r"@bob approved the rollback at")
    shown = settled(demo, since=approved)
    assert f"rollback of {b} to prod started" in shown
    assert re.search(rf"rollback of {b} to prod (succeeded|finished)", shown), shown
    assert f"semaphore: deploy-prod.yml for {b} ✔ passed" in shown

    demo.send("click 999")
    demo.expect(r"hint: no button \[999\]; buttons shown so far: 1-\d+")
    demo.send("fail staging")
    demo.expect(r"hint: no stage 'staging'; the stages are beta, prod")
    demo.send("quit")
    demo.expect("bye")
    assert demo.proc.wait(10) == 0
    assert "Traceback" not in demo.transcript


def test_an_emergency_to_prod_lands_on_prod_past_its_block(demo: DemoTerminal) -> None:
    """Issue 13 "done when": prod hangs off beta's deploy pipeline; carol's emergency
    deployment of a held change lands on prod while prod stays blocked."""
    demo.expect(re.escape(PROMPT), timeout=15)
    pushed(demo, "first")
    settled(demo)
    demo.send("/deploy block prod Launch day")
    demo.expect(r"⛔ Blocked demo/prod")
    b = pushed(demo, "hotfix")
    shown = settled(demo)
    assert "prod: Queue held: Launch day" in shown

    demo.send("as carol")
    demo.send(f"/deploy emergency prod {b} Checkout is down")
    demo.expect(r"── modal: ", timeout=15)
    submitted = demo.send("submit")
    shown = settled(demo, since=submitted)
    assert f"prod: emergency of {b} to prod started" in shown, shown
    assert f"prod: emergency of {b} to prod succeeded" in shown, shown
    assert f"semaphore: deploy-prod.yml for {b} ✔ passed" in shown, shown
    assert "Traceback" not in demo.transcript


def test_a_scenario_plays_in_the_same_view() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--scenario", "blocker-holds-and-resumes"],
        cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=55,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = done.stdout
    assert "scenario blocker-holds-and-resumes: a person blocks prod" in shown
    assert re.search(
        r"⛔ Investigating a latency regression \(by @alice\) · id `\w+`\s+\[1 Unblock\]", shown
    )
    assert "prod: Queue held: Investigating a latency regression" in shown
    commits = re.search(r"played \(commits: A = (\w+), B = (\w+)\)", shown)
    assert commits, shown
    assert f"prod: rollforward of {commits.group(2)} to prod finished baking" in shown
    assert f"rollforward of {commits.group(1)} to prod started" not in shown
    assert "Traceback" not in shown + done.stderr
