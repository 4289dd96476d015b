"""Percentiles, figures with their targets, and the table the run prints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank percentile `q` (0-100) of `samples`; NaN for no samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 3),
        "p99_ms": round(percentile(seconds, 99) * 1000, 3),
        "max_ms": round(max(seconds, default=math.nan) * 1000, 3),
    }


@dataclass
class Figure:
    """One measured figure; `target` is a text like '<= 50' and `ok` its verdict (None: none)."""

    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "MISS")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


def at_most(name: str, value: float, limit: float, unit: str, note: str = "") -> Figure:
    return Figure(name, value, unit, f"<= {limit:g}", value <= limit, note)


def at_least(name: str, value: float, limit: float, unit: str, note: str = "") -> Figure:
    return Figure(name, value, unit, f">= {limit:g}", value >= limit, note)


def info(name: str, value: float, unit: str, note: str = "") -> Figure:
    return Figure(name, value, unit, note=note)


def table(figures: Sequence[Figure]) -> str:
    rows = [("figure", "value", "target", "", "note")]
    rows += [
        (f.name, f"{f.value:,.2f} {f.unit}".strip(), f.target, f.verdict, f.note) for f in figures
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for i, row in enumerate(rows):
        cells = [row[c].ljust(widths[c]) for c in range(4)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
