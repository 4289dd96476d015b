"""The demo's pure parts: what typed lines mean, Block Kit as text, the demo's people, and
the command's refusals (one line, exit 2, never a traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.config.loader import load_config_text
from bot.demo import inputs as cmd
from bot.demo.blocks import Style, render_blocks, render_mrkdwn
from bot.demo.feed import message_number
from bot.demo.people import find, people
from bot.demo.world import alert_payload, demo_world, stage_files
from bot.service.alerts import AlertmanagerPayload, alarm_events
from semaphore_client.simulator import default_world

ROOT = Path(__file__).resolve().parents[2]
DEMO = load_config_text((ROOT / "examples" / "demo.yml").read_text(), "demo.yml")


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("/deploy block prod Investigating", cmd.Deploy("block prod Investigating")),
        ("push", cmd.Push("a change")),
        ("push fix the login page", cmd.Push("fix the login page")),
        ("fail prod", cmd.Script("prod", "failed")),
        ("pass prod", cmd.Script("prod", "passed")),
        ("alarm beta", cmd.Alarm("beta", firing=True)),
        ("resolve beta", cmd.Alarm("beta", firing=False)),
        ("click 3", cmd.Click(3)),
        ("submit Broken checkout", cmd.Submit("Broken checkout")),
        ("as bob", cmd.As("bob", None)),
        ("as bob click 2", cmd.As("bob", cmd.Click(2))),
        ("wait", cmd.Wait(None)),
        ("wait 5s", cmd.Wait(5.0)),
        ("  ", cmd.Nothing()),
        ("QUIT", cmd.Quit()),
        ("help", cmd.Help()),
        ("home", cmd.Home()),
    ],
)
def test_a_typed_line_means_one_command(line: str, parsed: cmd.Command) -> None:
    assert cmd.parse_line(line) == parsed


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("click", "click N"),
        ("click two", "click N"),
        ("click 0", "click N"),
        ("fail", "fail STAGE"),
        ("alarm beta prod", "alarm STAGE"),
        ("wait forever", "wait SECONDS"),
        ("wait 9000", "between 0 and 600"),
        ("/ship it", "only /deploy"),
        ("deploy-it", "unknown command"),
        ("as", "as NAME"),
        ("as bob as carol push", "one command"),
        ("help me", "unknown command"),
    ],
)
def test_bad_input_gets_a_one_line_hint(line: str, hint: str) -> None:
    parsed = cmd.parse_line(line)
    assert isinstance(parsed, cmd.Hint)
    assert hint in parsed.text and "\n" not in parsed.text


def test_buttons_are_numbered_in_the_order_they_are_shown() -> None:
    pressed: list[dict[str, Any]] = []

    def number(button: dict[str, Any]) -> int:
        pressed.append(button)
        return len(pressed)

    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "demo/prod"}},
        {"type": "section", "block_id": "blocker:1",
         "text": {"type": "mrkdwn", "text": "*prod* is blocked by <@U0BLOCK> &amp; :no_entry:"},
         "accessory": {"type": "button", "action_id": "blocker_unblock",
                       "text": {"type": "plain_text", "text": "Unblock"}}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "see <https://x.test|the run>"}]},
        {"type": "divider"},
        {"type": "actions", "block_id": "alert", "elements": [
            {"type": "button", "action_id": "rollback_approve", "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": "rollback_dismiss", "text": {"type": "plain_text", "text": "Dismiss"}},
        ]},
    ]  # fmt: skip
    lines = render_blocks(blocks, number, Style(names={"U0BLOCK": "alice"}))
    assert lines == [
        "demo/prod",
        "prod is blocked by @alice & ⛔  [1 Unblock]",
        "see the run",
        "─" * 40,
        "[2 Approve] [3 Dismiss]",
    ]
    assert [(b["action_id"], b["block_id"]) for b in pressed] == [
        ("blocker_unblock", "blocker:1"),
        ("rollback_approve", "alert"),
        ("rollback_dismiss", "alert"),
    ]


def test_mrkdwn_keeps_what_people_typed_readable_and_styles_only_with_colour() -> None:
    text = "*bold* and a_b*c <!channel> `code` ```block```"
    assert render_mrkdwn(text, Style()) == "bold and a_b*c @channel `code` block"
    assert render_mrkdwn("*x*", Style(color=True)) == "\x1b[1mx\x1b[0m"


def test_message_numbers_come_from_the_stand_ins_timestamps() -> None:
    assert message_number("1700000000.000012") == "12"


def test_the_demo_has_one_person_per_role_a_second_approver_and_one_without() -> None:
    everyone = people(DEMO)
    assert [p.label for p in everyone] == [
        "alice (block)", "bob (approve)", "carol (emergency)", "erin (approve)", "dave (no role)",
    ]  # fmt: skip
    assert everyone[3].user == "U0APPROVE2"  # two-person approval can be tried (issue 16)
    assert find(everyone, "approver") == everyone[1]
    assert find(everyone, "U0EMERGENCY") == everyone[2]
    assert find(everyone, "nobody") is None


def test_each_stage_of_the_demo_world_has_its_deploy_pipeline() -> None:
    files = stage_files(default_world(), DEMO.project("demo"))
    assert files == {"beta": "deploy-beta.yml", "prod": "deploy-prod.yml"}


def test_the_demo_world_for_a_wave_gives_each_target_its_pipeline_and_promotion() -> None:
    waves = load_config_text((ROOT / "examples" / "demo-waves.yml").read_text(), "demo-waves.yml")
    assert demo_world(DEMO) is not None
    assert stage_files(demo_world(DEMO), DEMO.project("demo")) == files_of_default()
    world = demo_world(waves)
    assert stage_files(world, waves.project("demo")) == {
        "beta": "deploy-beta.yml",
        "prod/us-east-1": "deploy-prod-us-east-1.yml",
        "prod/eu-west-1": "deploy-prod-eu-west-1.yml",
    }
    spec = world.project("demo")
    assert spec is not None
    beta = spec.pipelines[".semaphore/deploy-beta.yml"]  # both regions hang off beta's pipeline
    assert [p.name for p in beta.promotions] == ["prod-us-east-1", "prod-eu-west-1"]
    assert [p.deployment_target for p in beta.promotions] == ["prod-us-east-1", "prod-eu-west-1"]


def files_of_default() -> dict[str, str]:
    return stage_files(default_world(), DEMO.project("demo"))


def test_an_alarm_on_a_wave_reaches_every_target_and_deploybot_target_one() -> None:
    from datetime import UTC, datetime

    waves = load_config_text((ROOT / "examples" / "demo-waves.yml").read_text(), "demo-waves.yml")
    body = alert_payload("demo", "prod", "firing", datetime(2026, 1, 5, tzinfo=UTC))
    routed = alarm_events(AlertmanagerPayload.model_validate(body), waves)
    assert [r.stage for r in routed.events] == ["prod/us-east-1", "prod/eu-west-1"]
    body["alerts"][0]["labels"]["deploybot_target"] = "eu-west-1"
    routed = alarm_events(AlertmanagerPayload.model_validate(body), waves)
    assert [r.stage for r in routed.events] == ["prod/eu-west-1"]
    body["alerts"][0]["labels"]["deploybot_target"] = "ap-east-9"
    routed = alarm_events(AlertmanagerPayload.model_validate(body), waves)
    assert routed.events == []
    assert routed.unmatched[0].why == "project 'demo' has no stage 'prod/ap-east-9'"


def test_the_demo_alarm_is_an_alertmanager_alert_for_the_stage() -> None:
    from datetime import UTC, datetime

    body = alert_payload("demo", "prod", "firing", datetime(2026, 1, 5, tzinfo=UTC))
    routed = alarm_events(AlertmanagerPayload.model_validate(body), DEMO)
    assert [(r.project, r.stage) for r in routed.events] == [("demo", "prod")]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--scenario", "nope"], "no scenario 'nope'"),
        (["--config", "/nonexistent/demo.yml"], "cannot read /nonexistent/demo.yml"),
    ],
)
def test_the_demo_refuses_bad_arguments_in_one_line(args: list[str], said: str) -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "demo", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 2
    assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_a_broken_configuration_is_named_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "demo.yml"
    broken.write_text("roles: {}\nprojects: []\n")
    done = subprocess.run([sys.executable, "-m", "bot", "demo", "--config", str(broken)],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 2
    assert "is not a valid configuration" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_timestamp_in_a_call_stays_text_so_message_ten_is_not_message_one() -> None:
    from bot.demo.feed import _json, message_number

    assert message_number(str(_json("1700000000.000010"))) == "10"
    assert _json('[{"type": "section"}]') == [{"type": "section"}]
