"""Mutation check of the state tables, which mutmut cannot reach (it mutates
function bodies, not module-level tables).

Each mutant flips one cell of the instance table (instances/states.py: legal_from,
already, the resulting status, the volume effect, spot_only, needs_os_volume, the
special refusal messages, TIMED, SHUT_DOWN, REMOVED) or of the volume table
(volumes/states.py: LEGAL_FROM, TIMED, ACTIVE), runs the table-driven tests
(tests/test_instance_states.py, tests/test_volume_states.py) against it, and counts
it killed when they fail. Only statuses an instance or volume can reach through the
API are flipped (the others are listed as unreachable: no test can see them), and
mutants that can't change any answer are listed with the reason instead of run.

    PYTHONPATH=src python tools/table_mutations.py [--only SUBSTRING]... [--list]

Runs every mutant in this one process (pytest.main per mutant, a fresh server and
store each time, SQLite only): about 10-60 s per mutant. Prints each mutant's
verdict and the kill rate; exits 1 if a mutant survived.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from verda_server.instances import states as inst
from verda_server.volumes import states as vol

INSTANCE_TESTS = "tests/test_instance_states.py"
VOLUME_TESTS = "tests/test_volume_states.py"
PYTEST_ARGS = ["-x", "-q", "-k", "not postgresql", "-p", "no:cacheprovider", "--no-header"]

# What the API can put an instance or a volume in (`error` is written to the store
# by the tests; nothing in the API leads to the other statuses).
INSTANCE_REACHABLE = (
    inst.Status.PROVISIONING,
    inst.Status.RUNNING,
    inst.Status.OFFLINE,
    inst.Status.ERROR,
    inst.Status.DISCONTINUED,
)
VOLUME_REACHABLE = (
    vol.Status.DETACHED,
    vol.Status.ATTACHED,
    vol.Status.CLONING,
    vol.Status.DELETED,
    vol.Status.CANCELED,
)
# Statuses the timed transitions may wrongly lead to.
INSTANCE_TARGETS = (None, *INSTANCE_REACHABLE)


@dataclass(frozen=True)
class Mutant:
    name: str
    tests: tuple[str, ...]
    # Applies the change and returns what undoes it.
    apply: Callable[[], Callable[[], None]]
    # Tried first, being fast; `tests` run only when these pass.
    quick: tuple[str, ...] = ()


def _set_attr_everywhere(old: object, new: object) -> Callable[[], None]:
    """Rebind every module-level name bound to `old` (frozensets are imported by name)."""
    bound = [
        (module, name)
        for module in list(sys.modules.values())
        if module is not None and getattr(module, "__name__", "").startswith("verda_server")
        for name, value in list(vars(module).items())
        if value is old
    ]
    for module, name in bound:
        setattr(module, name, new)

    def undo() -> None:
        for module, name in bound:
            setattr(module, name, old)

    return undo


def _set_item(table: dict, key: object, value: object) -> Callable[[], None]:
    old = table[key]
    table[key] = value

    def undo() -> None:
        table[key] = old

    return undo


def _toggle(values: frozenset, status: object) -> frozenset:
    return values - {status} if status in values else values | {status}


def _rule_mutant(action: inst.Action, label: str, **changes: object) -> Mutant:
    def apply() -> Callable[[], None]:
        rule = inst.RULES[action]
        return _set_item(inst.RULES, action, dataclasses.replace(rule, **changes))

    bulk = f"{INSTANCE_TESTS}::test_every_status_in_one_bulk_call[sqlite-{action.value}]"
    return Mutant(f"instance {action.value}: {label}", (INSTANCE_TESTS,), apply, (bulk,))


def instance_mutants() -> Iterator[Mutant]:
    for action, rule in inst.RULES.items():
        for status in INSTANCE_REACHABLE:
            sign = "-" if status in rule.legal_from else "+"
            yield _rule_mutant(
                action,
                f"legal_from {sign}{status.value}",
                legal_from=_toggle(rule.legal_from, status),
            )
        for status in INSTANCE_REACHABLE:
            sign = "-" if status in rule.already else "+"
            yield _rule_mutant(
                action, f"already {sign}{status.value}", already=_toggle(rule.already, status)
            )
        for target in INSTANCE_TARGETS:
            if target != rule.to:
                shown = target.value if target else "None"
                yield _rule_mutant(action, f"to {shown}", to=target)
        for effect in inst.VolumeEffect:
            if effect is not rule.volumes:
                yield _rule_mutant(action, f"volumes {effect.value}", volumes=effect)
        yield _rule_mutant(action, f"spot_only {not rule.spot_only}", spot_only=not rule.spot_only)
        yield _rule_mutant(
            action,
            f"needs_os_volume {not rule.needs_os_volume}",
            needs_os_volume=not rule.needs_os_volume,
        )
        for status in rule.messages:
            messages = {s: m for s, m in rule.messages.items() if s != status}
            yield _rule_mutant(action, f"no message for {status.value}", messages=messages)
    yield from _timed_mutants("instance", inst.TIMED, INSTANCE_REACHABLE, INSTANCE_TESTS)
    for name in ("SHUT_DOWN", "REMOVED"):
        for status in INSTANCE_REACHABLE:
            values = getattr(inst, name)
            sign = "-" if status in values else "+"
            yield Mutant(
                f"instance {name} {sign}{status.value}",
                (INSTANCE_TESTS, VOLUME_TESTS),
                lambda v=values, s=status: _set_attr_everywhere(v, _toggle(v, s)),
            )


def _timed_mutants(
    kind: str, timed: dict[Any, Any], reachable: Iterable[Any], tests: str
) -> Iterator[Mutant]:
    """Each timed transition sent to every other reachable status instead."""
    for source, target in timed.items():
        for other in reachable:
            if other not in (source, target):
                yield Mutant(
                    f"{kind} TIMED {source.value} -> {other.value}",
                    (tests,),
                    lambda s=source, o=other: _set_item(timed, s, o),
                )


def volume_mutants() -> Iterator[Mutant]:
    for action, legal in vol.LEGAL_FROM.items():
        for status in VOLUME_REACHABLE:
            sign = "-" if status in legal else "+"
            yield Mutant(
                f"volume {action.value}: legal_from {sign}{status.value}",
                (VOLUME_TESTS,),
                lambda a=action, v=legal, s=status: _set_item(vol.LEGAL_FROM, a, _toggle(v, s)),
            )
    yield from _timed_mutants("volume", vol.TIMED, VOLUME_REACHABLE, VOLUME_TESTS)
    for status in VOLUME_REACHABLE:
        sign = "-" if status in vol.ACTIVE else "+"
        yield Mutant(
            f"volume ACTIVE {sign}{status.value}",
            (VOLUME_TESTS,),
            lambda s=status: _set_attr_everywhere(vol.ACTIVE, _toggle(vol.ACTIVE, s)),
        )


def equivalent(name: str) -> str | None:
    """Why a mutant can't change any answer (then it is not run), or None."""
    kind, _, cell = name.partition(": ")
    action = kind.removeprefix("instance ")
    if kind.startswith("instance ") and cell.startswith("legal_from +"):
        status = inst.Status(cell.removeprefix("legal_from +"))
        if status in inst.RULES[inst.Action(action)].already:
            return "`already` is checked first: the status never reaches legal_from"
    if cell == "needs_os_volume True" and action in ("shutdown", "force_shutdown", "delete_stuck"):
        return (
            "an instance lacks an OS volume only while offline (it detaches from a shut-down "
            "instance only; boot and start need one), and from offline this action is a "
            "no-op or refused before the OS volume is looked at"
        )
    if action == "discontinue" and cell.startswith("no message for "):
        return "for discontinue the special message is the generic refusal, word for word"
    if name == "instance SHUT_DOWN +discontinued":
        return "REMOVED is checked first: a discontinued instance gets its own refusal"
    if kind.startswith("volume ") and cell == "legal_from +canceled":
        return "a canceled volume is permanently deleted: refused before LEGAL_FROM is read"
    if name == "volume attach: legal_from +attached":
        return "attaching an attached volume is decided before LEGAL_FROM (shared or refused)"
    return None


def not_mutated() -> list[str]:
    """Cells no API call can tell apart: statuses nothing leads to, and legal_from
    entries shadowed by `already`."""
    instance = [s.value for s in inst.Status if s not in INSTANCE_REACHABLE]
    volume = [s.value for s in vol.Status if s not in VOLUME_REACHABLE]
    return [
        f"unreachable instance statuses {', '.join(instance)}",
        f"unreachable volume statuses {', '.join(volume)}",
    ]


def run(mutant: Mutant) -> tuple[bool, float]:
    """True when the tests fail with the mutant in place."""
    started = time.monotonic()
    undo = mutant.apply()
    try:
        killed = any(_fails(tests) for tests in (mutant.quick, mutant.tests) if tests)
    finally:
        undo()
    return killed, time.monotonic() - started


def _fails(tests: tuple[str, ...]) -> bool:
    with contextlib.redirect_stdout(io.StringIO()):
        return pytest.main([*PYTEST_ARGS, *tests]) != pytest.ExitCode.OK


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", help="run the mutants whose name contains this (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    args = parser.parse_args()
    wanted = args.only or [""]
    every = [
        m for m in [*instance_mutants(), *volume_mutants()] if any(w in m.name for w in wanted)
    ]
    reasons = {m.name: equivalent(m.name) for m in every}
    mutants = [m for m in every if reasons[m.name] is None]
    if args.list:
        print("\n".join(f"{m.name}  [equivalent]" if reasons[m.name] else m.name for m in every))
        return 0
    # A clean run first: a failure there would count every mutant as killed.
    clean, seconds = run(Mutant("unmutated", (INSTANCE_TESTS, VOLUME_TESTS), lambda: lambda: None))
    if clean:
        print("the table tests fail without any mutant: fix them first")
        return 2
    print(f"unmutated: tests pass ({seconds:.0f} s)", flush=True)
    survivors = []
    for n, mutant in enumerate(mutants, 1):
        killed, seconds = run(mutant)
        verdict = "killed" if killed else "SURVIVED"
        print(f"[{n}/{len(mutants)}] {verdict:8} {mutant.name} ({seconds:.0f} s)", flush=True)
        if not killed:
            survivors.append(mutant.name)
    killed_count = len(mutants) - len(survivors)
    share = 100 * killed_count / len(mutants) if mutants else 100.0
    print(f"\nkilled {killed_count} of {len(mutants)} ({share:.1f}%)")
    for name in survivors:
        print(f"  survived: {name}")
    same = [(name, why) for name, why in reasons.items() if why]
    print(f"equivalent, not run: {len(same)}")
    for name, why in same:
        print(f"  {name}: {why}")
    print("not mutated:\n  " + "\n  ".join(not_mutated()))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
