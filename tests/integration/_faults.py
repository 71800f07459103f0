"""Counting for the fault-injection suite: faults injected, recoveries, corruptions found.

The counts are printed in pytest's terminal summary (``tests/integration/conftest.py``), so a run of
``tests/integration/test_faults.py`` ends with one line the closing note can quote.
"""

from __future__ import annotations

from collections import Counter

#: "faults" (injected), "recoveries" (the next plain run succeeded and every check passed),
#: "corruptions" (a check failed after a fault), and one counter per kind of fault ("kind:SIGINT@build")
COUNTS: Counter[str] = Counter()
#: what each corruption was, for the failure message
FINDINGS: list[str] = []


def summary() -> str:
    kinds = ", ".join(
        f"{k.removeprefix('kind:')} {n}" for k, n in sorted(COUNTS.items()) if k.startswith("kind:")
    )
    return (
        f"fault injection: {COUNTS['faults']} faults injected, {COUNTS['recoveries']} recoveries, "
        f"{COUNTS['corruptions']} corruptions ({kinds})"
    )
