"""Summary statistics and ratios: median, min, max of a scenario's samples; ratio = tool / nixtox."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Summary", "ratio", "sample_order", "summarise"]


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    minimum: float
    maximum: float
    failures: int

    def as_json(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "median": round(self.median, 4),
            "min": round(self.minimum, 4),
            "max": round(self.maximum, 4),
            "failures": self.failures,
        }


def summarise(seconds: Iterable[float | None], failures: int = 0) -> Summary | None:
    """None when no sample succeeded."""
    values = [s for s in seconds if s is not None]
    if not values:
        return None
    return Summary(len(values), statistics.median(values), min(values), max(values), failures)


def ratio(tool: Summary | None, baseline: Summary | None) -> float | None:
    """How many times longer the tool took than the baseline (median over median)."""
    if tool is None or baseline is None or baseline.median <= 0:
        return None
    return tool.median / baseline.median


def sample_order(tools: Sequence[str], repeats: int) -> list[tuple[int, str]]:
    """A B C A B C ...: every round runs each tool once, so drift in machine load hits all tools alike."""
    return [(round_, tool) for round_ in range(repeats) for tool in tools]
