"""`deploybot stats` (issue 17): the four figures for scripts, from REDIS_URL's history."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.stats_command import stats_command
from tests.slack.live import BASE, started

pytestmark = pytest.mark.redis

CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - {name: beta, promotion: beta}
      - {name: prod, promotion: prod}
"""


async def test_stats_prints_json_for_scripts_and_says_what_is_missing(
    redis_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "deploybot.yml"
    config.write_text(CONFIG)
    async with started(redis_server, CONFIG) as h:
        await h.push(BASE, "base")

        async def deployed() -> bool:
            return await h.deployed("prod", BASE)

        await h.until(deployed)
    monkeypatch.setenv("DEPLOYBOT_CONFIG", str(config))
    monkeypatch.setenv("REDIS_URL", redis_server)
    out, err = io.StringIO(), io.StringIO()
    import asyncio

    code = await asyncio.to_thread(stats_command, None, None, "7d", True, out=out, err=err)
    assert (code, err.getvalue()) == (0, "")
    [doc] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (doc["project"], doc["stage"], doc["days"]) == ("demo", "prod", 7)
    assert doc["current"]["deployments"] == 1 and doc["current"]["changes"] == 1
    assert doc["previous"]["deployments"] == 0
    text = io.StringIO()
    assert (
        await asyncio.to_thread(stats_command, "demo", "beta", "30d", False, out=text, err=err) == 0
    )
    assert text.getvalue().startswith("demo/beta, the last 30 days\n  Deployment frequency:")
    wrong = io.StringIO()
    assert stats_command("demo", "gamma", "30d", False, out=out, err=wrong) == 2
    assert wrong.getvalue() == "no stage 'gamma' in demo (stages: beta, prod)\n"
    monkeypatch.delenv("REDIS_URL")
    missing = io.StringIO()
    assert stats_command(None, None, "30d", False, out=out, err=missing) == 2
    assert "REDIS_URL" in missing.getvalue()
