"""What `eslflow doctor` found: one `Finding` per check, and how they are printed."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass


class OutputFormat(enum.StrEnum):
    """How the report is printed."""

    text = "text"
    json = "json"


class Status(enum.StrEnum):
    """A check's verdict; only `fail` makes `eslflow doctor` exit 1."""

    ok = "ok"
    warn = "warn"
    fail = "fail"
    skip = "skip"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One line of the report: which check, its verdict, and what a person should know."""

    check: str
    status: Status
    detail: str


def failed(findings: Sequence[Finding]) -> bool:
    return any(f.status is Status.fail for f in findings)


def render_table(findings: Sequence[Finding]) -> str:
    """A readable table: check, verdict, detail (continuation lines indented)."""
    width = max([len("CHECK"), *(len(f.check) for f in findings)])
    lines = [f"{'CHECK':<{width}}  {'RESULT':<6}  DETAIL"]
    for f in findings:
        first, *rest = f.detail.splitlines() or [""]
        lines.append(f"{f.check:<{width}}  {f.status.value:<6}  {first}")
        lines.extend(f"{'':<{width}}  {'':<6}  {line}" for line in rest)
    counts = {s: sum(f.status is s for f in findings) for s in Status}
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    lines.append("")
    lines.append(f"{summary}: " + ("NOT READY" if counts[Status.fail] else "ready"))
    return "\n".join(lines)


def render_json(findings: Sequence[Finding]) -> str:
    """`--format json`: the findings and the overall verdict as one JSON object."""
    return json.dumps(
        {
            "ok": not failed(findings),
            "checks": [
                {"check": f.check, "status": f.status.value, "detail": f.detail} for f in findings
            ],
        },
        ensure_ascii=False,
        indent=2,
    )
