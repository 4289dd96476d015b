"""How deploybot's long-running commands log: one line per event worth an operator's time.

At `info` (the default) the libraries' chatter is quiet: httpx's line per HTTP call and
APScheduler's per job are shown at `debug` only (`--log-level debug`)."""

from __future__ import annotations

import logging

LEVELS = ("debug", "info", "warning", "error")
#: Libraries that log routine work at INFO.
CHATTY = ("httpx", "httpcore", "apscheduler")


def configure(level: str = "info") -> None:
    number = getattr(logging, level.upper())
    logging.basicConfig(level=number, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(number)
    for name in CHATTY:
        logging.getLogger(name).setLevel(number if number <= logging.DEBUG else logging.WARNING)
