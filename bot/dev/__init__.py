"""`deploybot dev`: the bot, the Semaphore simulator and the Slack stand-in on loopback, over
real HTTP, with lines to paste into a shell (command.py runs it, instructions.py says it)."""
