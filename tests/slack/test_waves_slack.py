"""Waves in Slack (issue 18): commands take a wave's name or `WAVE/TARGET`, and status, the
overview and the App Home show a wave as one line with its targets' progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import change, deployment

from bot.config import load_config_text
from bot.core.model import DeploymentState, StageState
from bot.slack.commands import Approve, Block, BlockScope, ParseError, Queue, Status, Unblock
from bot.slack.parser import parse
from bot.slack.render import home_view, overview, project_status
from tests.slack.support import NOW, texts, valid_message, valid_view

CONFIG = load_config_text("""
roles: {block: [U0BLOCK], approve: [U0APPROVE]}
projects:
  - name: shop
    channel: C0SHOP
    stages:
      - name: beta
        promotion: beta
      - name: prod-wave-2
        targets:
          - {name: us-west-2, promotion: us-west-2}
          - {name: ap-south-1, promotion: ap-south-1, timezone: Asia/Kolkata}
          - {name: sa-east-1, promotion: sa-east-1}
""")
TARGETS = ("prod-wave-2/us-west-2", "prod-wave-2/ap-south-1", "prod-wave-2/sa-east-1")


def test_block_and_unblock_take_a_wave_or_one_target() -> None:
    wave = parse("block prod-wave-2 Region failover drill", CONFIG, NOW)
    assert isinstance(wave, Block) and wave.scope is BlockScope.WAVE
    assert [t.stage for t in wave.targets] == list(TARGETS)
    one = parse("block prod-wave-2/ap-south-1 Mumbai DC maintenance", CONFIG, NOW)
    assert isinstance(one, Block) and [t.stage for t in one.targets] == [TARGETS[1]]
    assert parse("unblock shop prod-wave-2", CONFIG, NOW) == Unblock("shop", "prod-wave-2")
    assert parse("status prod-wave-2", CONFIG, NOW) == Status("shop", "prod-wave-2")
    assert parse("approve prod-wave-2", CONFIG, NOW) == Approve("shop", "prod-wave-2", None)


def test_a_block_until_a_time_reads_it_in_each_targets_own_zone() -> None:
    blocked = parse("block prod-wave-2 Drill until 17:00", CONFIG, NOW)
    assert isinstance(blocked, Block)
    ends = {t.stage: t.until for t in blocked.targets}
    # 17:00 UTC for the targets without a zone, 17:00 in Kolkata (11:30 UTC) for ap-south-1.
    assert ends[TARGETS[0]] is not None and ends[TARGETS[1]] is not None
    assert ends[TARGETS[0]] - ends[TARGETS[1]] == timedelta(hours=5, minutes=30)


def test_a_command_about_one_deployment_names_the_waves_targets() -> None:
    said = parse("queue prod-wave-2", CONFIG, NOW)
    assert isinstance(said, ParseError)
    assert "prod-wave-2 is a wave: name one of its targets (prod-wave-2/us-west-2," in said.message
    assert parse("queue prod-wave-2/sa-east-1", CONFIG, NOW) == Queue("shop", TARGETS[2])
    unknown = parse("queue prod-wave-2/eu-west-9", CONFIG, NOW)
    assert isinstance(unknown, ParseError) and "no project or stage" in unknown.message


def states() -> dict[str, StageState]:
    a = change(5)
    done = deployment(5, DeploymentState.DONE, stage=TARGETS[0], change=a,
                      finished_at=NOW - timedelta(minutes=5))  # fmt: skip
    running = deployment(5, DeploymentState.RUNNING, stage=TARGETS[1], change=a, started_at=NOW)
    queued = deployment(5, DeploymentState.QUEUED, stage=TARGETS[2], change=a)
    return {
        TARGETS[0]: StageState(good=(done,)),
        TARGETS[1]: StageState(current=running),
        TARGETS[2]: StageState(queue=(queued,)),
    }


def test_status_shows_the_wave_as_one_line_then_its_targets() -> None:
    project = CONFIG.project("shop")
    rendered = valid_message(project_status(project, states(), NOW))
    shown = texts(rendered)
    line = "*prod-wave-2* `0505050`: 1 of 3 done · ap-south-1 deploying · sa-east-1 queued"
    assert line in shown
    assert shown.index(line) < shown.index("prod-wave-2/us-west-2")
    only = texts(valid_message(project_status(project, states(), NOW, stage="prod-wave-2")))
    assert line in only and "*beta*" not in only


def test_the_overview_and_the_app_home_show_the_waves_line() -> None:
    every = {"shop": states()}
    summary = texts(valid_message(overview(CONFIG, every, NOW)))
    assert "1 of 3 done · ap-south-1 deploying · sa-east-1 queued" in summary
    assert "prod-wave-2/us-west-2" not in summary  # one line for the wave
    home = texts(valid_view(home_view(CONFIG, every, NOW)))
    assert "1 of 3 done · ap-south-1 deploying · sa-east-1 queued" in home


@pytest.mark.parametrize("stage", TARGETS)
def test_a_wave_with_nothing_deployed_says_so(stage: str) -> None:
    rendered = texts(project_status(CONFIG.project("shop"), {}, NOW, stage=stage))
    assert "nothing deployed yet (1 targets)" in rendered or stage in rendered
