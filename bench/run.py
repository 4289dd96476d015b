"""Run deploybot's benchmarks: `python bench/run.py [--quick] [--json FILE]`.

Starts its own redis-server (free loopback port, temp dir), and for each benchmark the
simulator, the Slack stand-in and the bot on loopback; prints every figure beside its target.
Slack ack latency and sustained throughput measure `deploybot serve` (and the bare Bolt
reference) in processes of their own; webhook-to-promotion, Redis work per event and scale run
the bot in this process (see each module).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ack, burst, history, promotion, reconcile, redis_work, scale, throughput
from bench.env import NoRedis, machine, redis_server
from bench.stats import Figure, at_least, at_most, info, table


def _ack_figures(rows: list[dict[str, Any]]) -> list[Figure]:
    """Per cell, the best of the rounds (lowest p99). Ack pace: the bot's acks beside the bare
    Bolt app's, and how long its replies took to drain the burst. Reply pace: the reply
    latency at that concurrency. Replies lost and 'busy' answers count all rounds."""
    cells: dict[tuple[str, str, str, int], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["app"], row["command"], row.get("pace", "ack"), row["concurrency"])
        cells.setdefault(key, []).append(row)
    figures = []
    for (app, command, pace, c), cell in sorted(cells.items(), key=lambda kv: (kv[0][3], kv[0][2])):
        if app != "bot":
            continue
        if pace == "ack":
            figures += _ack_pace(command, c, cell, cells[("bare", "status", "ack", c)])
        else:
            reply = min(cell, key=lambda r: r["reply_p99_ms"])
            name = f"reply /deploy {command} c={c} p99"
            note = (
                f"p50 {reply['reply_p50_ms']:.1f} ms; each client sends its next command once "
                "its reply arrived; POST until the reply reached the stand-in"
            )
            if c == 20:
                figures.append(at_most(name, reply["reply_p99_ms"], 100, "ms", note))
            else:
                figures.append(info(name, reply["reply_p99_ms"], "ms", note))
        lost = sum(r["replies_lost"] for r in cell)
        figures.append(at_most(f"{pace} pace /deploy {command} c={c} replies lost", lost, 0, "",
                               "all rounds"))  # fmt: skip
    return figures


def _ack_pace(
    command: str, c: int, cell: list[dict[str, Any]], bare_cell: list[dict[str, Any]]
) -> list[Figure]:
    row, bare = min(cell, key=lambda r: r["p99_ms"]), min(bare_cell, key=lambda r: r["p99_ms"])
    ratio = round(row["p99_ms"] / bare["p99_ms"], 2)
    name = f"ack /deploy {command} c={c}"
    note = f"p50 {row['p50_ms']:.1f} ms (bare {bare['p50_ms']:.1f}); bare p99 {bare['p99_ms']:.1f}"
    figures = []
    if c == 20:  # the target: p99 <= 50 ms and within 1.3x of bare Bolt, at concurrency 20
        figures.append(at_most(f"{name} p99", row["p99_ms"], 50, "ms", note))
        figures.append(at_most(f"{name} p99 / bare Bolt", ratio, 1.3, "x"))
    else:
        figures.append(info(f"{name} p99", row["p99_ms"], "ms", note))
        figures.append(info(f"{name} p99 / bare Bolt", ratio, "x"))
    busy = sum(r["busy"] for r in cell)
    sent = sum(r["statuses"].get(200, 0) for r in cell)
    note = "all rounds; acked 'busy, nothing was done' (1,000 waiting), no reply expected"
    figures.append(info(f"{name} answered busy", busy, f"of {sent}", note))
    burst = min(cell, key=lambda r: r["reply_p99_ms"])
    note = (
        f"p50 {burst['reply_p50_ms']:.1f} ms; {burst['n']} commands sent at ack pace wait in "
        "the bot, so this is the burst's drain time, not a latency at this concurrency"
    )
    figures.append(info(f"burst reply /deploy {command} c={c} p99", burst["reply_p99_ms"], "ms",
                        note))  # fmt: skip
    return figures


def _redis_work_figures(w: dict[str, Any]) -> list[Figure]:
    counted = f"{w['decided']} events, {w['notices_delivered']} notices delivered; bot in process"
    per_notice = w["slack_round_trips_per_notice"]
    return [
        at_most("Redis round trips / event (decision path)", w["decision_round_trips_per_event"],
                4, "", f"{counted}; HTTP intake, inbox worker, timers"),
        info("Redis round trips / event (Slack delivery)", w["slack_round_trips_per_event"], "",
             f"not the target's: the slack-worker task; {per_notice:.2f} per notice delivered"),
        info("Redis round trips / event (total)", w["round_trips_per_event"], "",
             "not the target's: decision path + Slack delivery"),
        info("Redis commands / event (commandstats)", w["commands_per_event"], "",
             "both paths, commands run by Lua included"),
        info("total_commands_processed / event", w["commands_processed_per_event"], ""),
    ]  # fmt: skip


def _history_figures(d: dict[str, Any]) -> list[Figure]:
    kept = (f"{d['projects']} projects x {d['stages']} stages, {d['days']} days at "
            f"{d['deployments_per_day_per_stage']}/day per stage: {d['records']:,} records")  # fmt: skip
    one, served = d["stats_one"], d["served"]
    return [
        info("history: /deploy stats of every project", d["stats_all_s"], "s",
             f"{kept}; one after another, 30 days against the 30 before"),
        info("history: /deploy stats of one project p50", one["p50_ms"], "ms",
             f"p99 {one['p99_ms']:.1f} ms; 90 days: {d['stats_90d_one_ms']} ms"),
        info("history: Redis memory of the records", d["records_mb"], "MB",
             f"{d['bytes_per_record']} bytes per record"),
        info("history: Redis memory of the changes", d["changes_mb"], "MB",
             "sorted set and details, one per change per project"),
        at_most("history: RSS of deploybot serve, used", served["rss_peak_mb"], 200, "MB",
                f"peak (VmHWM) after the App Home and {served['commands']} commands over that "
                f"history; {served['rss_started_mb']} MB once started, {served['rss_used_mb']} "
                "MB at the end"),
    ]  # fmt: skip


def _reconcile_figures(r: dict[str, Any]) -> list[Figure]:
    load = f"{r['projects']} projects, {r['active']} deploying; budget 100/min, ceiling 15 min"
    two = r["every_2_min"]
    scaled = f"interval {r['interval_s']:g} s, ceiling {r['idle_s']:g} s (scaled down)"
    return [
        at_most("reconcile: Semaphore API calls / minute (max of 30)",
                r["calls_per_minute_max"], 100, "/min",
                f"{load}; steady mean {r['calls_per_minute_steady_mean']}"),
        at_most("reconcile: longest an idle project waited", r["idle_longest_wait_min"], 16,
                "min", f"{load}; target: the ceiling and a pass; reconcile_interval 1 min"),
        at_most("reconcile: longest an active project went unasked", r["active_longest_gap_min"],
                2, "min", f"{load}; a lost done webhook is found within it"),
        at_most("reconcile: the same, reconcile_interval 2 min: calls / minute",
                two["calls_per_minute_max"], 100, "/min",
                f"steady mean {two['calls_per_minute_steady_mean']}"),
        at_most("reconcile: the same, reconcile_interval 2 min: longest idle wait",
                two["idle_longest_wait_min"], 17, "min", "target: the ceiling and a pass"),
        at_most("reconcile: lost done webhook, active project, / interval",
                r["active_done_share_of_interval"], 2, "x",
                f"{r['active_done_recovered_s']} s; {scaled}; target 2 min at a 60 s interval"),
        at_most("reconcile: lost CI webhook, idle project, / ceiling",
                r["idle_ci_share_of_ceiling"], 1, "x", f"{r['idle_ci_recovered_s']} s; {scaled}"),
    ]  # fmt: skip


async def main(quick: bool, out: Path | None) -> int:
    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine(), "quick": quick}
    figures: list[Figure] = []
    levels = {1: 50, 20: 300, 100: 500} if quick else {1: 200, 20: 1000, 100: 2000}
    duration = 10.0 if quick else 60.0
    try:
        async with redis_server() as url:
            rows = await ack.measure(url, levels, rounds=2)
            report["ack"] = rows
            figures += _ack_figures(rows)
            runs = [await promotion.measure(url, 30 if quick else 100) for _ in range(2)]
            report["webhook_to_promotion"] = runs
            p = min(runs, key=lambda r: r["p99_ms"])
            figures.append(info("webhook->promotion p50", p["p50_ms"], "ms", "better of 2 runs"))
            figures.append(
                at_most("webhook->promotion p99", p["p99_ms"], 50, "ms", "better of 2 runs")
            )
            loads = [await throughput.measure(url, duration)
                     for _ in range(2)]  # fmt: skip
            report["sustained"] = loads
            t = max(loads, key=lambda r: r["events_per_s"])
            note = f"better of 2 runs of {duration:g} s"
            figures.append(at_least("sustained webhook events/s", t["events_per_s"], 300, "/s",
                                    f"{note}; deploybot serve, own process, Slack posts paced"))  # fmt: skip
            work = await redis_work.measure(url, 600 if quick else 2000)
            report["redis_work"] = work
            lost = sum(r["lost"] + r["inbox_left"] for r in loads)
            lost += work["lost"] + work["left"]["inbox"]
            recorded = sum(r["recorded"] for r in loads) + work["recorded"]
            figures.append(at_most("events lost (recorded - decided)", lost, 0, "",
                                   f"{recorded} recorded in all runs, Redis work's included"))  # fmt: skip
            figures += _redis_work_figures(work)
            b = await burst.measure(url)
            report["burst"] = b
            note = (
                f"{b['pushes']} pushes in {b['pushed_in_s']:g} s, 3 stages; {b['slack_calls']} calls for "
                f"{b['notices_told']} notices; most for one change {b['slack_calls_max_per_change']}"
            )
            figures.append(
                at_most("burst: Slack calls / change", b["slack_calls_per_change"], 4, "", note)
            )
            figures.append(
                at_most(
                    "burst: messages current after the last event",
                    b["current_after_last_event_s"],
                    30,
                    "s",
                    "paced by Slack's limits; last decision to last Slack call",
                )
            )
            figures.append(
                at_most(
                    "burst: changes whose final state is not shown",
                    b["changes_not_shown"],
                    0,
                    "",
                    f"429s answered: {b['answered_429']}",
                )
            )
            s = await scale.measure(url, 1000, 5)
            report["scale"] = s
            figures.append(at_most("scale: /deploy status (all 1000 projects)", s["status_all_ms"],
                                   300, "ms", "POST until reply at the stand-in, better of 2"))  # fmt: skip
            figures.append(info("scale: /deploy status demo", s["status_one_ms"], "ms"))
            figures.append(info("scale: RSS delta of the bench process", s["rss_delta_mb"], "MB",
                                f"bot in process; RSS {s['rss_mb']} MB"))  # fmt: skip
            figures.append(at_most("scale: App Home render (1000 projects)", s["home_ms"], 100, "ms",
                                   f"{s['home_blocks']} blocks, {s['home_projects_shown']} projects shown"))  # fmt: skip
            d = await history.measure(url, 50 if quick else 1000)
            report["history"] = d
            figures += _history_figures(d)
            projects, active = (200, 10) if quick else (1000, 50)
            r = await reconcile.measure(url, projects, active)
            report["reconcile"] = r
            figures += _reconcile_figures(r)
    except NoRedis as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    report["figures"] = [f.as_dict() for f in figures]
    report["seconds"] = round(time.perf_counter() - started, 1)
    m = report["machine"]
    print(f"deploybot benchmarks ({'quick' if quick else 'full'}) on {m['cpu_count']} x {m['cpu_model']}, "
          f"Python {m['python']}, load {m['loadavg_at_start']} at start, {report['seconds']} s")  # fmt: skip
    print(table(figures))
    if out is not None:
        out.write_text(json.dumps(report, indent=2, default=str))
    return 0


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about 2 minutes)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.quick, args.json)))


if __name__ == "__main__":
    cli()
