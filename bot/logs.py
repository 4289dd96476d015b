"""How deploybot's long-running commands log: one line per event worth an operator's time.

At `info` (the default) the libraries' chatter is quiet: httpx's line per HTTP call,
APScheduler's per job and aiohttp's access line per request served are shown at `debug` only
(`--log-level debug`). The access lines were also the largest single cost of answering a Slack
command (15% of the CPU at 20 commands at once, issue 19): aiohttp skips them entirely when
their logger would drop them."""

from __future__ import annotations

import logging

LEVELS = ("debug", "info", "warning", "error")
#: Libraries that log routine work at INFO.
CHATTY = ("httpx", "httpcore", "apscheduler", "aiohttp.access")


def configure(level: str = "info") -> None:
    number = getattr(logging, level.upper())
    logging.basicConfig(level=number, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(number)
    for name in CHATTY:
        logging.getLogger(name).setLevel(number if number <= logging.DEBUG else logging.WARNING)
