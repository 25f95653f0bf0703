"""The one table the bench prints, and the header that says where it ran."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Line:
    row: int
    what: str
    store: str
    limits: str = "off"
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    ratio: float | None = None
    # The figure the goal is about, when it is not one of the columns above.
    result: str = ""
    goal: str = ""
    met: bool | None = None
    errors: int = 0
    error_note: str = ""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def checkout() -> str:
    """Which verda_server is measured: its source folder and, in a git work tree, its commit."""
    import verda_server

    where = Path(verda_server.__file__).resolve().parent.parent
    commit = subprocess.run(
        ["git", "-C", str(where), "log", "-1", "--format=%h %cs"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{where}" + (f" (commit {commit})" if commit else "")


def header(started: datetime, label: str = "") -> str:
    cores = os.cpu_count() or 0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"verda-server bench, {started.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {cores} cores "
        f"({cpu_model()}), Python {platform.python_version()} ({sys.implementation.name}), "
        f"load average at start {load}\nverda_server from {checkout()}"
        + (f": {label}" if label else "")
    )


def grouped(value: float) -> str:
    """1 234 567: thousands apart by a space, as the README writes them."""
    return f"{value:,.0f}".replace(",", " ")


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    if digits == 0:
        return grouped(value)
    return f"{value:.{digits}f}"


def _ratio(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def _met(line: Line) -> str:
    mark = "" if line.met is None else ("yes" if line.met else "no")
    return mark


def _errors(line: Line) -> str:
    if not line.errors:
        return ""
    return f"{line.errors} {line.error_note or 'errors'}".strip()


def table(lines: list[Line]) -> str:
    head = (
        "| # | what | store | rate limits | req/s | p50 ms | p99 ms | ratio to bare "
        "| result | goal | met | errors |"
    )
    out = [head, "|---|---|---|---|---:|---:|---:|---:|---|---|---|---|"]
    for line in lines:
        cells = [
            str(line.row),
            line.what,
            line.store,
            line.limits,
            _num(line.rps, 0),
            _num(line.p50_ms, 2),
            _num(line.p99_ms, 2),
            _ratio(line.ratio),
            line.result,
            line.goal,
            _met(line),
            _errors(line),
        ]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)
