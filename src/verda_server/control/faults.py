"""Fault rules: operator-set answers and delays for matching public requests.

The rules are one value in SharedState, so every replica sees the same ones.
Whether a matching call fires is decided in the store, in the writers' turn:
the rule's counters (`matched`, `fired`) are read and written back in one
transaction, so "the next N calls" are exactly N over every replica, and a
probability rule draws its n-th matching call's number from (seed, n) alone:
the same seed gives the same sequence, however the calls are spread.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from verda_server.api.errors import STATUS_OF
from verda_server.clock import Clock, isoformat
from verda_server.control.shared import SharedState, read_value, write_value

NAME = "faults"
ANY_METHOD = "*"
# Never faulted: the control API must always answer (and /metrics watches it all).
EXEMPT_PREFIXES = ("/_admin", "/metrics")
# Default messages, in the words of the real service's answers.
DEFAULT_MESSAGES = {
    "invalid_request": "Invalid request",
    "unauthorized_request": "Unauthorized",
    "insufficient_funds": "Insufficient funds",
    "forbidden_action": "Forbidden action",
    "not_found": "Not found",
    "conflict": "Conflict",
    "rate_limit_exceeded": "Rate limit exceeded",
    "server_error": "Internal server error",
    "service_unavailable": "Service temporarily unavailable, try again later",
}
CODE_OF = {status: code for code, status in STATUS_OF.items()}


def compile_glob(pattern: str) -> re.Pattern[str]:
    """`*` is any run of characters (`/` included), `?` one character; the rest
    is literal, and the whole path must match."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def draw(seed: int, n: int) -> float:
    """The number in [0, 1) of a rule's n-th matching call."""
    return random.Random(f"{seed}:{n}").random()


@dataclass(frozen=True)
class Rule:
    id: str
    method: str
    path: str
    project_id: str | None
    status: int | None
    code: str | None
    message: str | None
    latency_ms: int
    times: int | None
    probability: float
    seed: int
    created_at: str
    matched: int = 0
    fired: int = 0
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", compile_glob(self.path))

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else self.times - self.fired

    @property
    def spent(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, method: str, path: str) -> bool:
        return (self.method == ANY_METHOD or self.method == method) and bool(
            self.pattern.fullmatch(path)
        )

    def value(self) -> dict[str, Any]:
        stored = asdict(self)
        stored.pop("pattern")
        return stored

    @classmethod
    def of(cls, value: dict[str, Any]) -> Rule:
        return cls(**value)


_NONE = type(None)
_STORED_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "method": str,
    "path": str,
    "project_id": (str, _NONE),
    "status": (int, _NONE),
    "code": (str, _NONE),
    "message": (str, _NONE),
    "latency_ms": int,
    "times": (int, _NONE),
    "probability": (int, float),
    "seed": int,
    "created_at": str,
    "matched": int,
    "fired": int,
}


def check(value: Any) -> None:
    """ValueError naming the problem when a stored value (a snapshot's) is not
    rules this server could apply and answer with."""
    if value is None:
        return
    if not isinstance(value, dict) or not isinstance(value.get("rules"), list):
        raise ValueError("not {'rules': [...]}")
    for n, rule in enumerate(value["rules"]):
        if not isinstance(rule, dict) or set(rule) != set(_STORED_TYPES):
            raise ValueError(f"rules[{n}]: not a rule (fields {', '.join(_STORED_TYPES)})")
        for name, kind in _STORED_TYPES.items():
            if isinstance(rule[name], bool) or not isinstance(rule[name], kind):
                raise ValueError(f"rules[{n}].{name}: wrong type")
        if rule["status"] is not None and (
            rule["status"] not in CODE_OF or STATUS_OF.get(rule["code"]) != rule["status"]
        ):
            raise ValueError(f"rules[{n}]: status and code do not agree")
        if not 0 <= rule["latency_ms"] <= 600_000 or not 0 <= rule["probability"] <= 1:
            raise ValueError(f"rules[{n}]: latency_ms or probability out of range")


def new_rule(clock: Clock, **spec: Any) -> Rule:
    """A rule from validated fields; the code follows from the status and back."""
    status, code = spec.pop("status", None), spec.pop("code", None)
    if status is not None and code is None:
        code = CODE_OF[status]
    if code is not None:
        status = STATUS_OF[code]
        spec["message"] = spec.get("message") or DEFAULT_MESSAGES[code]
    return Rule(
        id=str(uuid.uuid4()),
        status=status,
        code=code,
        created_at=isoformat(clock.now()),
        **spec,
    )


def _fire(rules: list[dict[str, Any]], candidates: Sequence[str]) -> list[Rule]:
    """Consult each candidate rule in turn (as stored now); the first that
    answers with an error ends the request, so those after it are not consulted."""
    fired: list[Rule] = []
    index = {value["id"]: n for n, value in enumerate(rules)}
    for rule_id in candidates:
        if rule_id not in index:
            continue  # deleted meanwhile
        rule = Rule.of(rules[index[rule_id]])
        if rule.spent:
            continue
        fires = draw(rule.seed, rule.matched) < rule.probability
        rule = replace(rule, matched=rule.matched + 1, fired=rule.fired + fires)
        rules[index[rule_id]] = rule.value()
        if fires:
            fired.append(rule)
            if rule.status is not None:
                break
    return fired


class FaultRules:
    """This replica's copy of the rules. `active` (the unspent ones) is the one
    attribute every request looks at; it is empty unless an operator set rules."""

    def __init__(self, shared: SharedState, clock: Clock) -> None:
        self.shared = shared
        self.clock = clock
        self.rules: tuple[Rule, ...] = ()
        self.active: tuple[Rule, ...] = ()
        self._listeners: list[Callable[[str], None]] = []
        shared.on(NAME, self._apply)

    def on_fired(self, listener: Callable[[str], None]) -> None:
        """Call `listener(rule_id)` each time a rule fires (an injected error or
        delay): the hook for the injected-faults metric."""
        self._listeners.append(listener)

    def notify(self, rule_id: str) -> None:
        for listener in self._listeners:
            listener(rule_id)

    def _apply(self, value: Any) -> None:
        rules = tuple(Rule.of(v) for v in (value or {}).get("rules", ()))
        self.rules = rules
        self.active = tuple(r for r in rules if not r.spent)

    def _change(self, how: Callable[[list[dict[str, Any]]], Any]) -> Any:
        """Read-modify-write of the stored rules in the writers' turn, so that
        changes from several replicas (and firings) all count."""
        with self.shared.db.write() as session:
            rules = list((read_value(session, NAME) or {}).get("rules", ()))
            result = how(rules)
            value = {"rules": rules}
            generation = write_value(session, NAME, value)
        self._apply(value)
        self.shared.written(generation)
        return result

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def add(self, rule: Rule) -> Rule:
        self._change(lambda rules: rules.append(rule.value()))
        return rule

    def delete(self, rule_id: str) -> bool:
        def drop(rules: list[dict[str, Any]]) -> bool:
            kept = [r for r in rules if r["id"] != rule_id]
            found = len(kept) < len(rules)
            rules[:] = kept
            return found

        return bool(self._change(drop))

    def clear(self) -> None:
        self._change(lambda rules: rules.clear())

    def consult(self, candidates: Sequence[str]) -> list[Rule]:
        """The rules among `candidates` (ids, in rule order) that fire on this call."""
        return list(self._change(lambda rules: _fire(rules, candidates)))
