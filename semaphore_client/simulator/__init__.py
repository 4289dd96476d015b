"""A local Semaphore: the v1alpha API, pipelines, queues, promotions, targets and webhooks.

Run it with ``python -m semaphore_client.simulator --port 8009`` or in-process::

    async with Simulator(default_duration=0.05) as sim:
        ...  # sim.base_url is the API base URL, sim.url + "/_sim/..." the control API
"""

from semaphore_client.simulator.clock import Clock, ManualClock, WallClock
from semaphore_client.simulator.conditions import ConditionError, parse_condition
from semaphore_client.simulator.server import Simulator
from semaphore_client.simulator.triggers import GoferTimes
from semaphore_client.simulator.world import World, default_world, load_world, parse_world

__all__ = [
    "Clock",
    "ConditionError",
    "GoferTimes",
    "ManualClock",
    "Simulator",
    "WallClock",
    "World",
    "default_world",
    "load_world",
    "parse_condition",
    "parse_world",
]
