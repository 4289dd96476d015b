"""The words of a `/deploy` command, each with its place in the original text.

Splitting on whitespace loses spacing; keeping the places lets a reason be sliced from the
original text verbatim (`Words.verbatim`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Words:
    """The words of a command with their places in the original text."""

    text: str
    items: tuple[tuple[str, int, int], ...]

    @classmethod
    def of(cls, text: str) -> Words:
        return cls(text, tuple((m.group(), m.start(), m.end()) for m in _WORD.finditer(text)))

    @property
    def plain(self) -> list[str]:
        return [word for word, _, _ in self.items]

    def after(self, count: int) -> Words:
        return Words(self.text, self.items[count:])

    def before_last(self, count: int) -> Words:
        return Words(self.text, self.items[: len(self.items) - count])

    def verbatim(self) -> str:
        """The original text from the first word to the last, spacing and all."""
        if not self.items:
            return ""
        return self.text[self.items[0][1] : self.items[-1][2]]

    def lower(self, index: int) -> str:
        return self.items[index][0].lower() if -len(self.items) <= index < len(self.items) else ""
