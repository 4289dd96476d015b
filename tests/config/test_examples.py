"""Every example configuration shipped in examples/ is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_example_passes_check_config(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(path)]) == 0
    assert ": ok," in capsys.readouterr().out


def test_there_are_examples() -> None:
    assert {p.name for p in EXAMPLES} >= {"deploybot.yml", "demo.yml"}
