"""`deploybot scenario NAME [--without-bot] [--json] [--list]`.

Prints the scenario's timeline (or, with `--json`, one JSON object) on stdout; where state is
kept goes to stderr. Exit status: 0 played, 1 stuck (or refused by the bot), 2 bad request (unknown scenario, no such
variant, a Redis that is not empty or not there). The bot's own logs are off: the timeline is
the output, and the crash scenarios crash on purpose.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from redis.exceptions import RedisError

from bot.scenarios.catalog import SCENARIOS, find
from bot.scenarios.outcome import outcome
from bot.scenarios.play import ScenarioError
from bot.scenarios.runner import run_scenario
from bot.scenarios.timeline import header, render
from bot.settings import Settings
from bot.store.redis import redis_client

PROG = "deploybot scenario"


def listing() -> str:
    width = max(len(name) for name in SCENARIOS)
    lines = []
    for scenario in SCENARIOS.values():
        alone = "  [also --without-bot]" if scenario.without_bot else ""
        lines.append(f"{scenario.name:<{width}}  {scenario.summary}{alone}")
    return "\n".join(lines)


def scenario_command(name: str | None, *, without_bot: bool, as_json: bool, list_only: bool) -> int:
    if list_only:
        print(listing())
        return 0
    if not name:
        return _refuse(f"name a scenario; known: {', '.join(SCENARIOS)} (see --list)")
    try:
        scenario = find(name)
        scenario.variant(not without_bot)
    except ScenarioError as exc:
        return _refuse(str(exc))
    settings = Settings()
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    if redis_url is None:
        print(f"{PROG}: state in the embedded store (not persisted)", file=sys.stderr)
    else:
        problem = asyncio.run(_not_empty(redis_url))
        if problem:
            return _refuse(f"REDIS_URL {settings.redis_url_for_logs}: {problem}")
        print(f"{PROG}: state in Redis at {settings.redis_url_for_logs}", file=sys.stderr)
    logging.disable(logging.CRITICAL)
    try:
        run = asyncio.run(run_scenario(name, with_bot=not without_bot, redis_url=redis_url))
    except ScenarioError as exc:  # stuck, or refused by the bot it drives
        print(f"{PROG} {name}: {exc}", file=sys.stderr)
        return 1
    finally:
        logging.disable(logging.NOTSET)
    if as_json:
        print(json.dumps(run.to_json()))
    else:
        print(header(run, scenario.summary))
        print("\n".join(render(run)))
        print(f"outcome: {outcome(run)['text']}")
    return 0


async def _not_empty(url: str) -> str | None:
    """Why the Redis at `url` cannot take a scenario (the runner flushes nothing), or None."""
    client = redis_client(url)
    try:
        keys = int(await client.dbsize())
    except (RedisError, OSError) as exc:
        return f"cannot reach it ({exc.__class__.__name__})"
    finally:
        await client.aclose()
    if keys:
        return (
            f"the database holds {keys} keys; a scenario needs an empty one "
            "(it flushes nothing: point REDIS_URL at a spare database, e.g. redis://host/15)"
        )
    return None


def _refuse(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2
