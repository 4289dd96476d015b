"""Issue 16's `what-ships` (commits `base`, `A`, `B`, `C`, pushed by alice, bob and carol):
prod is blocked while A, B and C each pass beta; once unblocked, prod deploys C, and C's
message says what that deployment carries to prod: all three changes, with their authors.
"""

from __future__ import annotations

from functools import partial

from bot.scenarios.buttons import slack_of
from bot.scenarios.play import Play

AUTHORS = {"A": "alice", "B": "bob", "C": "carol"}


async def what_ships(play: Play) -> None:
    _, standin = slack_of(play)
    await play.push("base", author="dave")
    await play.wait("base deployed to prod", lambda: play.deployed("prod", "base"))
    await play.orchestrator.block("demo", "prod", "U0BLOCK", "Database migration")
    for label, author in AUTHORS.items():
        await play.push(label, author=author)
        await play.wait(f"{label} deployed to beta", partial(play.deployed, "beta", label))
    state = await play.harness.store.load(play.project, "prod")
    [blocker] = state.blockers
    await play.orchestrator.unblock("demo", "prod", "U0BLOCK", blocker.id)
    await play.wait("C deployed to prod", lambda: play.deployed("prod", "C"))
    block_id = f"change:{play.sha('C')[:7]}:ships"
    for call in standin.calls:
        shown = "\n".join(
            b["text"]["text"]
            for b in call.blocks
            if str(b.get("block_id", "")).startswith(block_id)
        )
        if "*prod*" in shown:
            play.note(
                "C's message, prod: " + " | ".join(line.strip() for line in shown.splitlines())
            )
            return
    play.note("C's message never said what ships to prod")
