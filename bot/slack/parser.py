"""`parse(text, config, now) -> Command | ParseError`: the `/deploy` grammar.

Pure and total: any text whatsoever gives a command value (`bot.slack.commands`) or a
`ParseError` saying what was wrong and the correct form; nothing here raises. Subcommands,
names and keywords are case-insensitive. Reasons are sliced from the original text, so they
keep their spacing and characters verbatim. Which project and stage a command names is
worked out in `bot.slack.targets`; times in `bot.slack.moments`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import UTC, datetime

from bot.config.models import DeploybotConfig
from bot.core.model import REASON_LIMIT
from bot.slack import moments, targets
from bot.slack.commands import (
    HELP_SUMMARY,
    SUBCOMMANDS,
    USAGE,
    Approve,
    Block,
    BlockScope,
    BlockTarget,
    Command,
    Diff,
    Emergency,
    Freeze,
    FreezeCancel,
    FreezeList,
    Help,
    History,
    ParseError,
    Queue,
    Reject,
    Reset,
    Rollback,
    Stats,
    Status,
    Unblock,
)
from bot.slack.targets import StageRef, shown
from bot.slack.words import Words

_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")
NO_REASON = "say why: /deploy block prod DB migration"


Result = Command | ParseError


def parse(text: str, config: DeploybotConfig, now: datetime) -> Result:
    """The command `text` asks for, or what is wrong with it. Never raises."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    words = Words.of(text)
    if not words.items:
        return Help()
    name, rest = words.lower(0), words.after(1)
    if name == "help":
        return _help(rest)
    handler = _HANDLERS.get(name)
    if handler is None:
        close = difflib.get_close_matches(name[:100], SUBCOMMANDS, n=3)
        # Two letters swapped ('stauts') first: same letters, so surely what was meant.
        close = sorted(close, key=lambda c: sorted(c) != sorted(name))[:2]
        if not close:
            return ParseError(f"unknown command {shown(words.items[0][0])}", HELP_SUMMARY)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?"
        # The suggestion's own form: two lines, not every command's.
        return ParseError(f"unknown command {shown(words.items[0][0])}{hint}", USAGE[close[0]])
    return handler(rest, config, now)


def _help(words: Words) -> Result:
    if not words.items:
        return Help()
    topic = words.lower(0)
    if topic in SUBCOMMANDS and len(words.items) == 1:
        return Help(topic)
    if topic in SUBCOMMANDS and topic == "freeze" and words.lower(1) in ("list", "cancel"):
        return Help(topic)
    topics = ", ".join(SUBCOMMANDS)
    asked = shown(words.verbatim()[:60])
    return ParseError(f"there is no help on {asked}; the topics are {topics}", USAGE["help"])


def _error(usage: str, message: str) -> ParseError:
    return ParseError(message, USAGE[usage])


def _too_long(usage: str, reason: str) -> ParseError | None:
    if len(reason) <= REASON_LIMIT:
        return None
    return _error(usage, f"the reason is {len(reason)} characters long; keep it to {REASON_LIMIT}")


def _extra(usage: str, words: Words) -> ParseError:
    return _error(usage, f"did not expect {shown(words.verbatim()[:60])} here")


def _status(words: Words, config: DeploybotConfig, now: datetime) -> Result:
    found = targets.optional_stage(config, words.plain, waves=True)
    if isinstance(found, str):
        return _error("status", found)
    project, stage, taken = found
    if taken < len(words.items):
        return _extra("status", words.after(taken))
    return Status(project, stage)


#: The windows `/deploy stats` offers.
STATS_WINDOWS = {"7d": 7, "30d": 30, "90d": 90}


def _stats(words: Words, config: DeploybotConfig, now: datetime) -> Result:
    plain, days = words.plain, 30
    if plain and plain[-1].lower() in STATS_WINDOWS:
        days, plain = STATS_WINDOWS[plain[-1].lower()], plain[:-1]
    elif plain and plain[-1][-1:].lower() == "d" and plain[-1][:-1].isdigit():
        return _error("stats", f"{shown(plain[-1])} is not a window; use 7d, 30d or 90d")
    found = targets.optional_stage(config, plain)
    if isinstance(found, str):
        return _error("stats", found)
    project, stage, taken = found
    if taken < len(plain):
        return _extra("stats", words.after(taken))
    if project is None:
        names = ", ".join(config.project_names)
        return _error("stats", f"name a project ({names})")
    return Stats(project, stage, days)


def _one_stage(
    usage: str, words: Words, config: DeploybotConfig, waves: bool = False
) -> tuple[StageRef, Words] | ParseError:
    found = targets.stage(config, words.plain, waves)
    if isinstance(found, str):
        return _error(usage, found)
    ref, taken = found
    return ref, words.after(taken)


def _stage_view(
    usage: str, make: Callable[[str, str], Command]
) -> Callable[[Words, DeploybotConfig, datetime], Result]:
    def handle(words: Words, config: DeploybotConfig, now: datetime) -> Result:
        found = _one_stage(usage, words, config)
        if isinstance(found, ParseError):
            return found
        ref, rest = found
        return _extra(usage, rest) if rest.items else make(ref.project, ref.stage)

    return handle


def _expiry(words: Words) -> tuple[moments.Expiry | None, Words] | str:
    """A trailing `for D`, `until HH:MM`, `until tomorrow [HH:MM]` or `until DATE HH:MM`, and
    the words before it. A trailing `until` with anything else is refused, with the forms: a
    reason never silently swallows what was meant as an expiry."""
    if words.lower(-2) == "for":
        found = moments.duration(words.items[-1][0])
        if isinstance(found, str):
            return found if words.items[-1][0][:1].isdigit() else (None, words)
        return moments.Expiry(duration=found), words.before_last(2)
    if words.lower(-3) == "until" and moments.DATE.match(words.lower(-2)):
        wall = moments.local_datetime(words.items[-2][0], words.items[-1][0])
        return (
            wall if isinstance(wall, str) else (moments.Expiry(moment=wall), words.before_last(3))
        )
    if words.lower(-3) == "until" and words.lower(-2) == "tomorrow":
        clock = moments.clock(words.items[-1][0])
        if isinstance(clock, str):
            return clock
        return moments.Expiry(clock=clock, tomorrow=True), words.before_last(3)
    if words.lower(-2) == "until" and words.lower(-1) == "tomorrow":
        tomorrow = moments.Expiry(clock=moments.TOMORROW_DEFAULT, tomorrow=True)
        return tomorrow, words.before_last(2)
    if words.lower(-2) == "until" and words.items[-1][0][:1].isdigit():
        clock = moments.clock(words.items[-1][0])
        return (
            clock if isinstance(clock, str) else (moments.Expiry(clock=clock), words.before_last(2))
        )
    if words.lower(-2) == "until":
        said = shown(words.after(len(words.items) - 2).verbatim())
        return f"{said} is not an expiry deploybot can read; {moments.HOW}"
    return None, words


def _block_scope(
    words: Words, config: DeploybotConfig
) -> tuple[BlockScope, list[StageRef], Words] | str:
    plain = words.plain
    if not plain:
        return "name a stage, a project or `all`"
    if plain[0].lower() == "all":
        refs = [StageRef(p.name, s.name) for p in config.projects for s in p.stages]
        return BlockScope.ALL, refs, words.after(1)
    project = targets.find_project(config, plain[0])
    if project is not None and (len(plain) < 2 or targets.find_stage(project, plain[1]) is None):
        return (
            BlockScope.PROJECT,
            [StageRef(project.name, s.name) for s in project.stages],
            words.after(1),
        )
    found = targets.stage(config, plain, waves=True)
    if isinstance(found, str):
        return found
    ref, taken = found
    wave = config.project(ref.project).wave(ref.stage)
    if wave:
        refs = [StageRef(ref.project, target.name) for target in wave]
        return BlockScope.WAVE, refs, words.after(taken)
    return BlockScope.STAGE, [ref], words.after(taken)


def _zone(config: DeploybotConfig, ref: StageRef, scope: BlockScope) -> str:
    project = config.project(ref.project)
    if scope not in (BlockScope.STAGE, BlockScope.WAVE):  # a wave's targets: each its own
        return project.timezone
    return project.stage(ref.stage).timezone or project.timezone


def _block(words: Words, config: DeploybotConfig, now: datetime) -> Result:
    scoped = _block_scope(words, config)
    if isinstance(scoped, str):
        return _error("block", scoped)
    scope, refs, rest = scoped
    expiry = _expiry(rest)
    if isinstance(expiry, str):
        return _error("block", expiry)
    until, reason_words = expiry
    reason = reason_words.verbatim()
    if not reason:
        return _error("block", NO_REASON)
    if too_long := _too_long("block", reason):
        return too_long
    blocked = []
    for ref in refs:
        moment = None if until is None else moments.resolve(until, _zone(config, ref, scope), now)
        if isinstance(moment, str):
            return _error("block", moment)
        blocked.append(BlockTarget(ref.project, ref.stage, moment))
    return Block(scope, tuple(blocked), reason)


def _unblock(words: Words, config: DeploybotConfig, now: datetime) -> Result:
    found = _one_stage("unblock", words, config, waves=True)
    if isinstance(found, ParseError):
        return found
    ref, rest = found
    if len(rest.items) > 1:
        return _extra("unblock", rest.after(1))
    return Unblock(ref.project, ref.stage, rest.items[0][0] if rest.items else None)


def _freeze(words: Words, config: DeploybotConfig, now: datetime) -> Result:
    if words.lower(0) == "list":
        listed = targets.optional_stage(config, words.after(1).plain)
        if isinstance(listed, str):
            return _error("freeze list", listed)
        project, stage, taken = listed
        if taken + 1 < len(words.items):
            return _extra("freeze list", words.after(taken + 1))
        return FreezeList(project, stage)
    if words.lower(0) == "cancel":
        found = _one_stage("freeze cancel", words.after(1), config)
        if isinstance(found, ParseError):
            return found
        ref, rest = found
        if len(rest.items) != 1:
            message = "say which freeze: its id is in /deploy freeze list"
            return (
                _error("freeze cancel", message)
                if not rest.items
                else _extra("freeze cancel", rest.after(1))
            )
        return FreezeCancel(ref.project, ref.stage, rest.items[0][0])
    return _new_freeze(words, config, now)


def _new_freeze(words: Words, config: DeploybotConfig, now: datetime) -> Result:
    found = _one_stage("freeze", words, config)
    if isinstance(found, ParseError):
        return found
    ref, rest = found
    plain = rest.plain
    if len(plain) < 5 or plain[2] != "..":
        return _error("freeze", "give the start and end as YYYY-MM-DD HH:MM .. YYYY-MM-DD HH:MM")
    zone = _zone(config, ref, BlockScope.STAGE)
    ends = []
    for day, hour in ((plain[0], plain[1]), (plain[3], plain[4])):
        wall = moments.local_datetime(day, hour)
        moment = wall if isinstance(wall, str) else moments.in_zone(wall, zone)
        if isinstance(moment, str):
            return _error("freeze", moment)
        ends.append(moment)
    start, end = ends
    if end <= start:
        return _error("freeze", "the freeze must end after it starts")
    if end <= now:
        return _error(
            "freeze", f"the freeze's end ({plain[3]} {plain[4]} {zone}) has already passed"
        )
    reason = rest.after(5).verbatim()
    if not reason:
        return _error(
            "freeze", f"say why: /deploy freeze {ref.stage} {' '.join(plain[:5])} Year-end"
        )
    if too_long := _too_long("freeze", reason):
        return too_long
    return Freeze(ref.project, ref.stage, start, end, reason)


def _sha(word: str) -> str | None:
    return word.lower() if _SHA.match(word) else None


def _rollback(words: Words, config: DeploybotConfig, now: datetime) -> Result:
    found = _one_stage("rollback", words, config, waves=True)
    if isinstance(found, ParseError):
        return found
    ref, rest = found
    if not rest.items:
        return Rollback(ref.project, ref.stage)
    shas = rest.after(1) if rest.lower(0) == "to" else rest
    if len(shas.items) != 1:
        return _error("rollback", "say which commit: `to` and a sha of 7 to 40 hex digits")
    sha = _sha(shas.items[0][0])
    if sha is None:
        return _error(
            "rollback", f"{shown(shas.items[0][0])} is not a commit sha (7 to 40 hex digits)"
        )
    return Rollback(ref.project, ref.stage, sha)


def _emergency(words: Words, config: DeploybotConfig, now: datetime) -> Result:
    found = _one_stage("emergency", words, config, waves=True)
    if isinstance(found, ParseError):
        return found
    ref, rest = found
    if not rest.items:
        return _error("emergency", "say which commit to deploy (a sha of 7 to 40 hex digits)")
    sha = _sha(rest.items[0][0])
    if sha is None:
        return _error(
            "emergency", f"{shown(rest.items[0][0])} is not a commit sha (7 to 40 hex digits)"
        )
    reason = rest.after(1).verbatim()
    if not reason:
        return _error("emergency", f"say why: /deploy emergency {ref.stage} {sha} Checkout is down")
    if too_long := _too_long("emergency", reason):
        return too_long
    return Emergency(ref.project, ref.stage, sha, reason)


def _stage_and_sha(
    name: str, make: Callable[[str, str, str | None], Command], waves: bool = False
) -> Callable[[Words, DeploybotConfig, datetime], Result]:
    """`/deploy NAME [project] stage [SHA]` (`diff`, `approve`; with `waves`, a wave too)."""

    def parse_it(words: Words, config: DeploybotConfig, now: datetime) -> Result:
        found = _one_stage(name, words, config, waves)
        if isinstance(found, ParseError):
            return found
        ref, rest = found
        if not rest.items:
            return make(ref.project, ref.stage, None)
        sha = _sha(rest.items[0][0])
        if sha is None:
            return _error(
                name, f"{shown(rest.items[0][0])} is not a commit sha (7 to 40 hex digits)"
            )
        if len(rest.items) > 1:
            return _extra(name, rest.after(1))
        return make(ref.project, ref.stage, sha)

    return parse_it


def _reject(words: Words, config: DeploybotConfig, now: datetime) -> Result:
    found = _one_stage("reject", words, config, waves=True)
    if isinstance(found, ParseError):
        return found
    ref, rest = found
    sha = _sha(rest.items[0][0]) if rest.items else None
    reason = (rest.after(1) if sha is not None else rest).verbatim()
    if not reason:
        return _error("reject", f"say why: /deploy reject {ref.stage} Fails the load test")
    if too_long := _too_long("reject", reason):
        return too_long
    return Reject(ref.project, ref.stage, sha, reason)


def _reset(words: Words, config: DeploybotConfig, now: datetime) -> Result:
    found = _one_stage("reset", words, config)
    if isinstance(found, ParseError):
        return found
    ref, rest = found
    if rest.items:
        return _extra("reset", rest)
    return Reset(ref.project, ref.stage)


_HANDLERS: dict[str, Callable[[Words, DeploybotConfig, datetime], Result]] = {
    "status": _status,
    "queue": _stage_view("queue", Queue),
    "history": _stage_view("history", History),
    "diff": _stage_and_sha("diff", Diff),
    "approve": _stage_and_sha("approve", Approve, waves=True),
    "reject": _reject,
    "stats": _stats,
    "block": _block,
    "unblock": _unblock,
    "freeze": _freeze,
    "rollback": _rollback,
    "reset": _reset,
    "emergency": _emergency,
}
