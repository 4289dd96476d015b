"""Escaping people's text for Slack's mrkdwn, and the few `<...>` constructs deploybot builds.

Slack reads `<...>` as a control sequence (`<!channel>`, `<@U123>`, `<https://x|label>`), so
text that people typed (reasons, commit messages, author names) goes through `escape()`: `&`,
`<` and `>` become entities and can never ping anyone or forge a link. Only deploybot's own
links and mentions (`link()`, `mention()`) put raw angle brackets into a message, and they
check what they wrap.

`truncate()` shortens text to a limit with an ellipsis, never leaving half an entity or half a
`<...>` construct behind.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"

_SAFE_URL = re.compile(r"^https://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/%?=&+-]*)?$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,}$")


def escape(text: str) -> str:
    """`text` shown literally in mrkdwn: `&` -> `&amp;`, `<` -> `&lt;`, `>` -> `&gt;`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A link deploybot builds itself; the label is escaped, an unsafe URL gives the label only."""
    shown = escape(label)
    if not _SAFE_URL.match(url):
        return shown
    return f"<{url.replace('&', '&amp;')}|{shown}>"


def mention(actor: str) -> str:
    """A Slack user id as a mention, a user group id as its id, anything else escaped."""
    if _SLACK_USER.match(actor):
        return f"<@{actor}>"
    if _SLACK_GROUP.match(actor):
        return f"group {actor}"  # `<!subteam^S…>` would ping the whole group
    return escape(actor)


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when it was cut."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1]
    opened, closed = cut.rfind("<"), cut.rfind(">")
    if opened > closed:
        cut = cut[:opened]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and len(cut) - amp <= 5:
        cut = cut[:amp]
    return cut + ELLIPSIS
