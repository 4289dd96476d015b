"""``python -m semaphore_client.simulator --port PORT [--world FILE] [--token TOKEN] …``"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

import yaml
from pydantic import ValidationError

from semaphore_client.simulator.clock import ManualClock
from semaphore_client.simulator.server import Simulator
from semaphore_client.simulator.triggers import GoferTimes
from semaphore_client.simulator.world import World, default_world, load_world


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m semaphore_client.simulator",
        description="A local Semaphore CI API v1alpha with scriptable pipelines.",
    )
    parser.add_argument("--port", type=int, required=True, help="port to listen on (0: any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--world", help="world YAML file (default: the built-in demo world)")
    parser.add_argument("--token", help="the only API token accepted (default: any non-empty)")
    parser.add_argument("--webhook-url", help="where to POST pipeline-done webhooks")
    parser.add_argument("--webhook-secret", help="signs webhooks (X-Semaphore-Signature-256)")
    parser.add_argument(
        "--default-duration",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how long an unscripted pipeline runs before it passes (1.0)",
    )
    parser.add_argument(
        "--promotion-delay",
        type=float,
        default=GoferTimes.delay,
        metavar="SECONDS",
        help="how long an accepted promotion stays 'processing' before its pipeline starts (0.2)",
    )
    parser.add_argument(
        "--promotion-deadline",
        type=float,
        default=GoferTimes.deadline,
        metavar="SECONDS",
        help="when Gofer gives up a promotion it could not schedule: 'Deadline reached' (40)",
    )
    parser.add_argument(
        "--target-deadline",
        type=float,
        default=GoferTimes.target_deadline,
        metavar="SECONDS",
        help="when Gofer gives up a stuck deployment-target trigger: deadline_reached (60)",
    )
    parser.add_argument(
        "--manual-clock",
        action="store_true",
        help="time moves only on POST /_sim/advance (deterministic scenarios)",
    )
    return parser


def _world(path: str | None) -> World:
    if path is None:
        return default_world()
    try:
        return load_world(path)
    except (OSError, yaml.YAMLError, ValidationError, ValueError) as exc:
        raise SystemExit(f"cannot load world {path}: {exc}") from None


async def _serve(args: argparse.Namespace) -> None:
    simulator = Simulator(
        _world(args.world),
        token=args.token,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        default_duration=args.default_duration,
        host=args.host,
        port=args.port,
        clock=ManualClock() if args.manual_clock else None,
        gofer=GoferTimes(args.promotion_delay, args.promotion_deadline, args.target_deadline),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with simulator:
        print(
            f"Semaphore simulator: API {simulator.base_url}, control {simulator.url}/_sim/",
            flush=True,
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.default_duration < 0:
        sys.exit("--default-duration must not be negative")
    if min(args.promotion_delay, args.promotion_deadline, args.target_deadline) < 0:
        sys.exit("--promotion-delay and the deadlines must not be negative")
    try:
        asyncio.run(_serve(args))
    except OSError as exc:
        sys.exit(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}")


if __name__ == "__main__":
    main()
