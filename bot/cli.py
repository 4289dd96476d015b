"""The `deploybot` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib import metadata

from bot.logs import LEVELS

LOG_HELP = "how much to log (default info; debug adds every HTTP call and timer job)"


def version() -> str:
    """The installed distribution's version, else the source tree's (`bot.__version__`)."""
    try:
        return metadata.version("deploybot")
    except metadata.PackageNotFoundError:
        from bot import __version__

        return __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deploybot",
        description="Semaphore CI deployments through ordered, blockable stages, steered from Slack.",
    )
    parser.add_argument("--version", action="version", version=f"deploybot {version()}")
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
    serve.add_argument("--log-level", choices=LEVELS, default="info", help=LOG_HELP)
    scenario = commands.add_parser(
        "scenario",
        help="play a scenario on loopback (simulator + bot) and print its timeline",
        description="Start the Semaphore simulator and the bot on loopback, play a scenario "
        "and print what happened, second by second. State lives in the embedded store, or in "
        "the Redis at REDIS_URL, whose database must be empty (nothing is flushed).",
    )
    scenario.add_argument("name", nargs="?", help="the scenario (see --list)")
    scenario.add_argument(
        "--without-bot", action="store_true", help="Semaphore alone (the seed scenarios)"
    )
    scenario.add_argument("--json", action="store_true", help="print one JSON object")
    scenario.add_argument("--list", action="store_true", help="list the scenarios")
    socket = commands.add_parser(
        "socket",
        help="talk to Slack over Socket Mode (no public URL; Semaphore reached by reconciliation)",
    )
    socket.add_argument("--host", default="127.0.0.1", help="address for /healthz and /metrics")
    socket.add_argument("--port", type=int, default=8080, help="port for /healthz and /metrics")
    socket.add_argument("--log-level", choices=LEVELS, default="info", help=LOG_HELP)
    demo = commands.add_parser(
        "demo",
        help="try deploybot locally: no credentials, no services, an interactive terminal",
        description="Start the Semaphore simulator (its built-in demo world), a stand-in for "
        "Slack and the bot on loopback, state in memory, and steer it all from the terminal: "
        "/deploy commands, pushes, failures, alarms and button clicks. Type `help` inside.",
    )
    demo.add_argument(
        "--scenario",
        metavar="NAME",
        help="play a scenario (see `deploybot scenario --list`) in this view",
    )
    demo.add_argument(
        "--config",
        metavar="FILE",
        help="deploybot YAML for the demo world (default examples/demo.yml)",
    )
    demo.add_argument("--log", metavar="FILE", help="write the bot's log to FILE (default: no log)")
    _dev_parser(commands)
    from bot.inbox_command import add_parser as inbox_parser
    from bot.stats_command import add_parser as stats_parser

    inbox_parser(commands)
    stats_parser(commands)
    return parser


def _dev_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev = commands.add_parser(
        "dev",
        help="rehearse locally over real HTTP: the bot's server, a Semaphore simulator and a "
        "Slack stand-in with a viewer, and curl lines to try",
        description="Run the bot's HTTP server (as `serve` does), the Semaphore simulator and "
        "a Slack stand-in on 127.0.0.1, with secrets generated for the run, and print the URLs "
        "and ready-to-paste curl lines (a signed /deploy status, a commit push, an "
        "Alertmanager alert). State is in memory, or in the Redis at REDIS_URL. Runs until "
        "Ctrl-C.",
    )
    dev.add_argument("--config", metavar="FILE", help="deploybot YAML (default examples/demo.yml)")
    dev.add_argument(
        "--world", metavar="FILE", help="the simulator's world YAML (default: its demo world)"
    )
    dev.add_argument("--port", type=int, default=8080, help="the bot's port (8080; 0: any)")
    dev.add_argument(
        "--semaphore-port",
        type=int,
        default=9000,
        metavar="PORT",
        help="the simulator's port (9000; 0: any)",
    )
    dev.add_argument(
        "--slack-port",
        type=int,
        default=9100,
        metavar="PORT",
        help="the Slack stand-in's port (9100; 0: any)",
    )
    dev.add_argument(
        "--pipeline-seconds",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how long each simulated pipeline runs (2)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "check-config":
        from bot.config.loader import check_config_command

        return check_config_command(args.file)
    if args.command == "serve":
        from bot.serve import serve_command

        return serve_command(args.host, args.port, log_level=args.log_level)
    if args.command == "socket":
        from bot.serve import serve_command

        return serve_command(args.host, args.port, socket_mode=True, log_level=args.log_level)
    if args.command == "scenario":
        from bot.scenarios.command import scenario_command

        return scenario_command(
            args.name, without_bot=args.without_bot, as_json=args.json, list_only=args.list
        )
    if args.command == "demo":
        from bot.demo.command import demo_command

        return demo_command(args.scenario, args.config, args.log)
    if args.command == "dev":
        from bot.dev.command import Options, Ports, dev_command

        ports = Ports(bot=args.port, semaphore=args.semaphore_port, slack=args.slack_port)
        return dev_command(Options(args.config, args.world, ports, args.pipeline_seconds))
    if args.command == "inbox":
        from bot.inbox_command import inbox_command

        return inbox_command(args.action, args.id, args.name)
    if args.command == "stats":
        from bot.stats_command import stats_command

        return stats_command(args.project, args.stage, args.since, args.json)
    parser.print_help()
    return 2
