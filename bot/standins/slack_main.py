"""`python -m bot.standins.slack --port N [--host 127.0.0.1]`: the Slack stand-in on its own.

Point a deploybot at it with `SLACK_API_URL=http://HOST:PORT/api/` (any SLACK_BOT_TOKEN), open
`http://HOST:PORT/` to read what the bot posted. Runs until SIGTERM or SIGINT; a port it
cannot listen on is one sentence on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from bot import lifecycle
from bot.standins.slack import SlackStandIn

PROG = "python -m bot.standins.slack"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A stand-in for Slack's Web API: answers the methods deploybot calls, "
        "records every call and shows them at http://HOST:PORT/ (newest first).",
    )
    parser.add_argument("--port", type=int, required=True, help="port to listen on (0: any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    try:
        return lifecycle.run(_serve(args.host, args.port))
    except OSError as exc:
        print(f"{PROG}: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)  # fmt: skip
        return 2


async def _serve(host: str, port: int) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    standin = await SlackStandIn().start(host, port)
    try:
        for line in banner(standin):
            print(line, flush=True)
        await stop.wait()
    finally:
        await lifecycle.bounded(standin.stop(), "the Slack stand-in", within=2.0)
    return 0


def banner(standin: SlackStandIn) -> list[str]:
    return [
        f"Slack stand-in on {standin.url}",
        f"  Web API   {standin.api_url}   (SLACK_API_URL; any SLACK_BOT_TOKEN)",
        f"  viewer    {standin.url}/   what was posted, newest first",
        f"  as JSON   {standin.url}/_standin/calls",
        "Ctrl-C stops it.",
    ]


if __name__ == "__main__":
    raise SystemExit(main())
