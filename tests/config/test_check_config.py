"""`deploybot check-config FILE`: a summary when valid, every problem with its path when not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "deploybot.yml"

VALID = """\
roles:
  block: [U024BE7LH]
projects:
  - name: shop
    channel: C0123ABC
    stages:
      - name: beta
        promotion: Deploy beta
      - name: prod
        promotion: Deploy prod
        windows: [mon-thu 09:00-16:00]
"""


def check(capsys: pytest.CaptureFixture[str], path: Path | str) -> tuple[int, list[str], list[str]]:
    code = main(["check-config", str(path)])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_the_example_configuration_is_valid_and_summarised(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = check(capsys, "examples/deploybot.yml")
    assert (code, err) == (0, [])
    assert out == [
        "examples/deploybot.yml: ok, 3 projects, 10 stages"
        " (shop: beta, gamma, prod; billing: beta, gamma, prod; storefront: beta, prod-onebox,"
        " prod-wave-1 (us-east-1, eu-west-1), prod-wave-2 (us-west-2, ap-south-1, sa-east-1))"
    ]


def test_a_minimal_configuration_is_valid(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    file = tmp_path / "deploybot.yml"
    file.write_text(VALID)
    code, out, _ = check(capsys, file)
    assert code == 0
    assert out == [f"{file}: ok, 1 project, 2 stages (shop: beta, prod)"]


BROKEN = {
    "bad window": (
        VALID.replace("mon-thu 09:00-16:00", "mon-fri 9-17"),
        [
            "projects[0].stages[1].windows[0]: 'mon-fri 9-17' is not 'DAYS HH:MM-HH:MM'"
            " (e.g. 'mon-fri 09:00-17:00')"
        ],
    ),
    "cron weekday numbers": (
        VALID.replace("mon-thu 09:00-16:00", "1-5 09:00-17:00"),
        [
            "projects[0].stages[1].windows[0]: '1-5': days are names, not numbers"
            " (e.g. 'mon-fri', not '1-5')"
        ],
    ),
    "window across midnight": (
        VALID.replace("mon-thu 09:00-16:00", "mon-fri 22:00-02:00"),
        [
            "projects[0].stages[1].windows[0]: end 02:00 is not after start 22:00; split it into"
            " two windows (e.g. 'weekdays 22:00-24:00' and 'tue-sat 00:00-02:00')"
        ],
    ),
    "unknown key": (
        VALID.replace("promotion: Deploy beta", "promotion: Deploy beta\n        windos: []"),
        [
            "projects[0].stages[0].windos: unknown key 'windos' (did you mean 'windows'?);"
            " allowed keys: name, target, promotion, hangs_off, targets, rollback, emergency, bake,"
            " supersede, enforce, timezone, windows, holidays, freezes, channel, alarms,"
            " start_timeout, approval"
        ],
    ),
    "missing promotion": (
        VALID.replace("        promotion: Deploy prod\n", ""),
        [
            "projects[0].stages[1].promotion: missing (this key is required, or 'targets' for a wave)"
        ],
    ),
    "missing roles": (
        VALID.replace("roles:\n  block: [U024BE7LH]\n", ""),
        ["roles: missing (this key is required)"],
    ),
    "wrong type": (
        VALID.replace("name: beta", "name: beta\n        supersede: maybe"),
        ["projects[0].stages[0].supersede: expected true or false, got the text 'maybe'"],
    ),
    "duplicate stage": (
        VALID.replace("name: prod", "name: beta"),
        [
            "projects[0].stages[1].name: stage name 'beta' is used twice"
            " (first at projects[0].stages[0])"
        ],
    ),
    "duplicate project": (
        VALID + VALID[VALID.index("  - name: shop") :],
        ["projects[1].name: project name 'shop' is used twice (first at projects[0])"],
    ),
    "unknown time zone": (
        VALID.replace("channel: C0123ABC", "channel: C0123ABC\n    timezone: Mars/Olympus"),
        ["projects[0].timezone: 'Mars/Olympus' is not a known time zone (e.g. 'Europe/Berlin')"],
    ),
    "time zone in the wrong case": (
        VALID.replace("channel: C0123ABC", "channel: C0123ABC\n    timezone: europe/berlin"),
        [
            "projects[0].timezone: 'europe/berlin' is not a known time zone (e.g. 'Europe/Berlin');"
            " did you mean 'Europe/Berlin'?"
        ],
    ),
    "unknown holiday calendar": (
        VALID.replace("channel: C0123ABC", "channel: C0123ABC\n    holidays: [US, XX]"),
        [
            "projects[0].holidays[1]: 'XX' is not a known holiday calendar"
            " (e.g. 'US', 'DE' or 'US-CA')"
        ],
    ),
    "freeze ending before it starts": (
        VALID.replace(
            "    stages:",
            "    freezes:\n      - start: 2026-12-20 09:00\n        end: 2026-12-19 09:00\n"
            "        reason: Year end\n    stages:",
        ),
        ["projects[0].freezes[0]: end 2026-12-19 09:00 is not after start 2026-12-20 09:00"],
    ),
    "bad duration": (
        VALID.replace("name: beta", "name: beta\n        bake: 30"),
        ["projects[0].stages[0].bake: 30 has no unit; write e.g. '30s', '30m' or '30h'"],
    ),
    "bad role id": (
        VALID.replace("[U024BE7LH]", "[U024BE7LH, alice]"),
        [
            "roles.block[1]: 'alice' is not a Slack user id (U… or W…) or user group id (S…),"
            " e.g. 'U024BE7LH'"
        ],
    ),
    "unquoted channel name": (
        VALID.replace("channel: C0123ABC", "channel: #deploys"),
        [
            "projects[0].channel: is empty; write a channel id like 'C0123ABC' or quote a name"
            " like '#deploys' (unquoted, YAML reads # as the start of a comment)"
        ],
    ),
    "first stage hanging off a previous one": (
        VALID.replace("name: beta", "name: beta\n        hangs_off: previous"),
        [
            "projects[0].stages[0].hangs_off: the first stage has no previous stage to hang off;"
            " use 'ci'"
        ],
    ),
    "unknown rollback policy": (
        VALID.replace("name: beta", "name: beta\n        rollback: {policy: sometimes}"),
        [
            "projects[0].stages[0].rollback.policy: 'sometimes' is not one of 'auto',"
            " 'approve' or 'off'"
        ],
    ),
    "no stages": (
        VALID[: VALID.index("    stages:")] + "    stages: []\n",
        ["projects[0].stages: needs at least one stage"],
    ),
    "key given twice": (
        VALID + "roles:\n  block: [U024BE7LH]\n",
        ["line 12, column 1: key 'roles' appears twice in the same mapping"],
    ),
    "YAML syntax error": (
        "roles: {block: [U024BE7LH]\nprojects: []\n",
        [
            "line 2, column 1: YAML syntax error: while parsing a flow mapping:"
            " expected ',' or '}', but got '<scalar>'"
        ],
    ),
    "top level is a list": (
        "- shop\n- billing\n",
        ["{file}: the top level must be a mapping with 'projects' and 'roles', not a list"],
    ),
    "empty file": ("", ["{file}: is empty; it needs 'projects' and 'roles'"]),
    "only a comment": ("# nothing yet\n", ["{file}: is empty; it needs 'projects' and 'roles'"]),
}


@pytest.mark.parametrize(("text", "problems"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_is_rejected_with_the_exact_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, problems: list[str]
) -> None:
    file = tmp_path / "deploybot.yml"
    file.write_text(text)
    code, out, err = check(capsys, file)
    expected = [problem.replace("{file}", str(file)) for problem in problems]
    assert (code, out) == (2, [])
    assert err == [f"{file}: {len(expected)} problem{'s' if len(expected) > 1 else ''}", *expected]


def test_every_problem_in_a_file_is_listed_at_once_in_file_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    file = tmp_path / "deploybot.yml"
    file.write_text(
        """\
roles:
  approve: [bob]
reconcile_interval: soon
projects:
  - name: shop
    channel: C0123ABC
    timezone: Mars/Olympus
    stages:
      - name: beta
        promotion: Deploy beta
        windows: [mon-fri 9-17]
      - name: beta
        promotion: Deploy again
        colour: blue
  - name: Billing
    channel: C0456DEF
    holidays: [XX]
    stages:
      - name: beta
"""
    )
    code, _, err = check(capsys, file)
    assert code == 2
    assert err == [
        f"{file}: 9 problems",
        "roles.approve[0]: 'bob' is not a Slack user id (U… or W…) or user group id (S…),"
        " e.g. 'U024BE7LH'",
        "reconcile_interval: 'soon' is not a duration (e.g. '90s', '30m', '2h', '1d' or '1h30m')",
        "projects[0].timezone: 'Mars/Olympus' is not a known time zone (e.g. 'Europe/Berlin')",
        "projects[0].stages[0].windows[0]: 'mon-fri 9-17' is not 'DAYS HH:MM-HH:MM'"
        " (e.g. 'mon-fri 09:00-17:00')",
        "projects[0].stages[1].name: stage name 'beta' is used twice"
        " (first at projects[0].stages[0])",
        "projects[0].stages[1].colour: unknown key 'colour'; allowed keys: name, target,"
        " promotion, hangs_off, targets, rollback, emergency, bake, supersede, enforce, timezone,"
        " windows, holidays,"
        " freezes, channel, alarms, start_timeout, approval",
        "projects[1].name: 'Billing' is not a lower-case name (letters, digits, '-' and '_',"
        " e.g. 'shop')",
        "projects[1].holidays[0]: 'XX' is not a known holiday calendar"
        " (e.g. 'US', 'DE' or 'US-CA')",
        "projects[1].stages[0].promotion: missing (this key is required, or 'targets' for a wave)",
    ]


def test_a_missing_file_and_a_directory_are_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.yml"
    assert check(capsys, missing) == (2, [], [f"{missing}: 1 problem", f"{missing}: no such file"])
    assert check(capsys, tmp_path) == (
        2,
        [],
        [f"{tmp_path}: 1 problem", f"{tmp_path}: is a directory, not a configuration file"],
    )


def test_the_command_never_shows_a_traceback(tmp_path: Path) -> None:
    file = tmp_path / "deploybot.yml"
    file.write_text(VALID.replace("mon-thu 09:00-16:00", "mon-fri 9-17") + "  - 42\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(file)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{file}: 2 problems",
        "projects[0].stages[1].windows[0]: 'mon-fri 9-17' is not 'DAYS HH:MM-HH:MM'"
        " (e.g. 'mon-fri 09:00-17:00')",
        "projects[1]: expected a mapping of keys to values, got the number 42",
    ]


def test_the_command_accepts_the_example_as_a_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"{EXAMPLE}: ok, 3 projects, 10 stages")


def test_an_approval_gate_is_validated(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Issue 16 item 8: `approval` is checked, and a gate no one could satisfy is refused."""
    file = tmp_path / "deploybot.yml"
    file.write_text(
        VALID.replace("  block: [U024BE7LH]", "  block: [U024BE7LH]\n  approve: [U0APPROVE]")
        + "        approval: {required: 2, expires: 0s, allow_author: maybe}\n"
    )
    code, out, err = check(capsys, file)
    assert (code, out) == (2, [])
    assert err[1:] == [
        "projects[0].stages[1].approval.allow_author: expected true or false, got the text 'maybe'",
        "projects[0].stages[1].approval.expires: '0s' must be longer than zero",
        "projects[0].stages[1].approval.required: 2 approvals required, but 1 person has the approve role: it would wait for ever",
    ]
    file.write_text(
        VALID.replace("  block: [U024BE7LH]", "  block: [U024BE7LH]\n  approve: [U0A, U0B]")
        + "        approval: {required: 2}\n"
    )
    assert check(capsys, file)[0] == 0


def test_a_digest_schedule_is_validated(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    file = tmp_path / "deploybot.yml"
    file.write_text(
        VALID.replace("    channel: C0123ABC", "    channel: C0123ABC\n    digest: funday 09:00")
    )
    code, _, err = check(capsys, file)
    assert code == 2
    assert err[1:] == [
        "projects[0].digest: expected a day and a time like 'mon 09:00', got 'funday 09:00'"
    ]
    file.write_text(
        VALID.replace("    channel: C0123ABC", "    channel: C0123ABC\n    digest: mon 09:00")
    )
    assert check(capsys, file)[0] == 0
