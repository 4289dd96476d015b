"""The `deploybot` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

NOT_YET = {
    "socket": "Slack Socket Mode",
    "demo": "the local demo",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deploybot",
        description="Semaphore CI deployments through ordered, blockable stages, steered from Slack.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "check-config", help="validate a configuration file and list every problem in it"
    )
    check.add_argument("file", help="path to the deploybot YAML configuration")
    serve = commands.add_parser(
        "serve", help="run the HTTP server: Semaphore webhooks, Alertmanager, /healthz, /metrics"
    )
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    for name, what in NOT_YET.items():
        commands.add_parser(name, help=f"{what} (not built yet)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "check-config":
        from bot.config.loader import check_config_command

        return check_config_command(args.file)
    if args.command == "serve":
        from bot.serve import serve_command

        return serve_command(args.host, args.port)
    if args.command in NOT_YET:
        print(
            f"deploybot {args.command}: {NOT_YET[args.command]} is not built yet in this version.",
            file=sys.stderr,
        )
        return 2
    parser.print_help()
    return 2
