"""The security suite (issue 14): attacks on a real `deploybot serve` process, with the fault
suite's rig (the simulator behind a proxy, a real redis-server, the Slack stand-in)."""

from __future__ import annotations

from tests.faults.conftest import bot

__all__ = ["bot"]
