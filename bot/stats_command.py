"""`deploybot stats [--project P] [--stage S] [--since 7d|30d|90d] [--json]`: the four delivery
metrics of a stage, for scripts (issue 17). The configuration is DEPLOYBOT_CONFIG's; the
history is in REDIS_URL's Redis (REDIS_CLUSTER=true: a node of a Redis Cluster). Without
`--project`, every project; without `--stage`, each project's last stage.

Exit status: 0 done; 2 when DEPLOYBOT_CONFIG or REDIS_URL is missing or unreadable, a project
or stage is unknown, or Redis cannot be reached (each said in one sentence on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from bot.inbox_command import TRUE

WINDOWS = {"7d": 7, "30d": 30, "90d": 90}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stats = commands.add_parser(
        "stats",
        help="delivery metrics of a stage: frequency, lead time, failure rate, time to restore",
        description="The four delivery metrics (see `/deploy help stats`) of each project's "
        "last stage, or of --project / --stage, over --since, with the window before it. "
        "Reads DEPLOYBOT_CONFIG and REDIS_URL.",
    )
    stats.add_argument("--project", help="one project (default: every project)")
    stats.add_argument("--stage", help="one stage (default: each project's last)")
    stats.add_argument("--since", choices=tuple(WINDOWS), default="30d", help="the window")
    stats.add_argument("--json", action="store_true", help="one JSON object per line")


def stats_command(
    project: str | None,
    stage: str | None,
    since: str,
    as_json: bool,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    from bot.config.errors import ConfigError
    from bot.config.loader import load_config

    path, url = (
        os.environ.get("DEPLOYBOT_CONFIG", "").strip(),
        os.environ.get("REDIS_URL", "").strip(),
    )
    if not path or not url:
        print(
            "Set DEPLOYBOT_CONFIG (the configuration) and REDIS_URL (where the history is).",
            file=err,
        )
        return 2
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"{path}: {exc}", file=err)
        return 2
    names = [project] if project else config.project_names
    if project and project not in config.project_names:
        print(f"no project {project!r} (projects: {', '.join(config.project_names)})", file=err)
        return 2
    targets = []
    for name in names:
        stages = config.project(name).stage_names
        if stage and stage not in stages:
            print(f"no stage {stage!r} in {name} (stages: {', '.join(stages)})", file=err)
            return 2
        targets.append((name, stage or stages[-1]))
    keep = config.history_retention
    return asyncio.run(_print(url, targets, WINDOWS[since], keep, as_json, out, err))


async def _print(
    url: str,
    targets: list[tuple[str, str]],
    days: int,
    keep: timedelta,
    as_json: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    from redis.exceptions import RedisError

    from bot.service.delivery import stage_delivery
    from bot.store import RedisStore
    from bot.store.redis import redis_client

    cluster = os.environ.get("REDIS_CLUSTER", "").strip().lower() in TRUE
    client = redis_client(url, cluster=cluster)
    now = datetime.now(UTC)
    try:
        store = RedisStore(client)
        for project, stage in targets:
            current, previous = await stage_delivery(
                store, project, stage, timedelta(days=days), now, keep
            )
            if as_json:
                print(json.dumps(_doc(project, stage, days, current, previous)), file=out)
            else:
                from bot.slack.render.delivery import stats_lines

                print(f"{project}/{stage}, the last {days} days", file=out)
                for line in stats_lines(current, previous):
                    print("  " + line.replace("*", ""), file=out)
    except (RedisError, OSError) as exc:
        print(f"Redis at REDIS_URL cannot be reached ({type(exc).__name__}).", file=err)
        return 2
    finally:
        await client.aclose()
    return 0


def _doc(project: str, stage: str, days: int, current: Any, previous: Any) -> dict[str, Any]:
    from bot.service.delivery import figures

    return {"project": project, "stage": stage, "days": days,
            "current": figures(current),
            "previous": figures(previous) if previous is not None else None}  # fmt: skip
