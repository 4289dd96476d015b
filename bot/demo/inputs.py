"""What a line typed in the demo means. Pure: a command value, or a `Hint` (one line saying
what was wrong and the right form). Names of stages and people are checked by the session."""

from __future__ import annotations

from dataclasses import dataclass

HELP = """\
  /deploy ...        any deploybot command, as the current person (try `/deploy help`)
  as NAME            be someone else: {people}
  as NAME COMMAND    one command as someone else, e.g. `as bob click 3`
  push [MESSAGE]     commit to main: CI runs, then deploybot takes it through the stages
  fail STAGE         the next deployment to STAGE fails   (pass STAGE: it passes again)
  alarm STAGE        an Alertmanager alert fires for STAGE (resolve STAGE: it resolves)
  click N            press button [N] as the current person
  submit [REASON]    confirm the open modal (cancel: close it)
  home               open deploybot's App Home
  wait [SECONDS]     watch until nothing is deploying or baking (or for SECONDS)
  help, quit"""


@dataclass(frozen=True)
class Deploy:
    text: str


@dataclass(frozen=True)
class Push:
    message: str


@dataclass(frozen=True)
class Script:
    stage: str
    result: str


@dataclass(frozen=True)
class Alarm:
    stage: str
    firing: bool


@dataclass(frozen=True)
class Click:
    number: int


@dataclass(frozen=True)
class Submit:
    reason: str


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class As:
    person: str
    then: Command | None


@dataclass(frozen=True)
class Home:
    pass


@dataclass(frozen=True)
class Wait:
    seconds: float | None


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Nothing:
    pass


@dataclass(frozen=True)
class Hint:
    text: str


Command = (
    Deploy | Push | Script | Alarm | Click | Submit | Cancel | As | Home | Wait | Help | Quit
    | Nothing
)  # fmt: skip

_STAGE_WORDS = {"fail": "failed", "pass": "passed"}


def parse_line(line: str) -> Command | Hint:
    text = line.strip()
    if not text:
        return Nothing()
    word, _, rest = text.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("/deploy", "deploy"):
        return Deploy(rest)
    if word.startswith("/"):
        return Hint("only /deploy is a deploybot command; try `/deploy help`")
    if word == "push":
        return Push(rest or "a change")
    if word in _STAGE_WORDS or word in ("alarm", "resolve"):
        if not rest or " " in rest:
            return Hint(f"name one stage: `{word} STAGE`, e.g. `{word} prod`")
        if word in _STAGE_WORDS:
            return Script(rest, _STAGE_WORDS[word])
        return Alarm(rest, firing=word == "alarm")
    if word == "click":
        if not rest.isdigit() or int(rest) < 1:
            return Hint("`click N` takes the number shown in a button, e.g. `click 1`")
        return Click(int(rest))
    if word == "submit":
        return Submit(rest)
    if word == "as":
        return _as(rest)
    if word == "wait":
        return _wait(rest)
    simple: dict[str, Command] = {
        "cancel": Cancel(), "home": Home(), "help": Help(), "?": Help(), "quit": Quit(),
        "exit": Quit(), "q": Quit(),
    }  # fmt: skip
    if word in simple and not rest:
        return simple[word]
    return Hint(f"unknown command {word!r}; type `help` for the list")


def _as(rest: str) -> As | Hint:
    person, _, then = rest.partition(" ")
    if not person:
        return Hint("`as NAME` or `as NAME COMMAND`, e.g. `as bob click 3`")
    if not then.strip():
        return As(person, None)
    inner = parse_line(then)
    if isinstance(inner, Hint):
        return inner
    if isinstance(inner, As | Quit):
        return Hint("`as NAME COMMAND` takes one command, e.g. `as bob click 3`")
    return As(person, inner)


def _wait(rest: str) -> Wait | Hint:
    if not rest:
        return Wait(None)
    try:
        seconds = float(rest.removesuffix("s"))
    except ValueError:
        return Hint("`wait` or `wait SECONDS`, e.g. `wait 10`")
    if not 0 < seconds <= 600:
        return Hint("wait between 0 and 600 seconds, e.g. `wait 10`")
    return Wait(seconds)
