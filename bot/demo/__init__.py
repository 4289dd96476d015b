"""`deploybot demo`: the whole bot on loopback, steered from a terminal.

command   `demo_command(...)`: start everything, then the session or a scenario
session   the command loop: `/deploy ...`, push, fail/pass, alarm/resolve, click, wait
inputs    what a typed line means (pure), with a one-line hint for bad input
feed      what the bot posts to the Slack stand-in, shown as it happens
blocks    Block Kit rendered as terminal text, buttons numbered for `click`
world     the Semaphore side: scripted outcomes, Alertmanager alerts, quiet checks
"""
