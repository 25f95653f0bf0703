"""Plant known bugs one at a time and check that the test suite catches each.

    python tools/planted_bugs.py            # every bug
    python tools/planted_bugs.py 3 7        # some of them, by number

Each bug is a one-line change of the source (an outside review planted these
and found that the suite of the time missed most). For each, a copy of the tree
gets the change, the test files that should catch it run on SQLite with `-x`,
and the bug counts as caught when they fail. Not part of the suite: it takes
minutes, and a planted bug's failing test is the point.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST = (sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider")


@dataclass(frozen=True)
class Bug:
    what: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


BUGS = (
    Bug(
        "X-Page-Size reports the page's item count",
        "src/verda_server/startup_scripts/views.py",
        '"X-Page-Size": str(size)',
        '"X-Page-Size": str(len(body))',
        ("tests/test_startup_scripts.py",),
    ),
    Bug(
        "a refused DELETE /v1/volumes/{id} answers 400 instead of 403",
        "src/verda_server/volumes/actions.py",
        "raise forbidden(refusal(Action.DELETE, status))",
        "raise invalid(refusal(Action.DELETE, status))",
        ("tests/test_volume_states.py", "tests/test_volumes.py"),
    ),
    Bug(
        "no project check when `image` names an OS volume",
        "src/verda_server/instances/deploy.py",
        "if volume is None or volume.project_id != project_id:",
        "if volume is None:",
        ("tests/test_cross_project.py",),
    ),
    Bug(
        "an access token accepted 1 s after its expiry",
        "src/verda_server/auth/service.py",
        "if claims.expires_at <= self._clock.timestamp():",
        "if claims.expires_at + 1 <= self._clock.timestamp():",
        ("tests/test_auth.py",),
    ),
    Bug(
        "dynamic_price set to the spot price",
        "src/verda_server/catalog/service.py",
        "        dynamic_price=price,",
        "        dynamic_price=source.spot_price.of(currency),",
        ("tests/test_prices.py",),
    ),
    Bug(
        "the spot price always in USD",
        "src/verda_server/catalog/service.py",
        "spot_price=source.spot_price.of(currency),",
        'spot_price=source.spot_price.of("usd"),',
        ("tests/test_prices.py",),
    ),
    Bug(
        "spot and on-demand capacity counted together",
        "src/verda_server/availability/service.py",
        "usage.get(UsageKey(location, instance_type, spot), 0)",
        "usage.get(UsageKey(location, instance_type, True), 0)"
        " + usage.get(UsageKey(location, instance_type, False), 0)",
        ("tests/test_prices.py",),
    ),
    Bug(
        "delete_stuck refused while provisioning",
        "src/verda_server/instances/states.py",
        "frozenset({S.PROVISIONING, S.ERROR}), to=S.DISCONTINUED",
        "frozenset({S.ERROR}), to=S.DISCONTINUED",
        ("tests/test_instance_states.py",),
    ),
    Bug(
        "an id-list limit of 100 instead of 1000",
        "src/verda_server/api/ids.py",
        "MAX_IDS = 1000",
        "MAX_IDS = 100",
        ("tests/test_limits.py",),
    ),
    Bug(
        "discontinue keeps the OS volume",
        "src/verda_server/instances/states.py",
        "        to=S.DISCONTINUED,\n        volumes=VolumeEffect.RELEASE,\n"
        "        messages=_GONE_OR_NOT_YET,\n    ),\n    Action.CONFIGURE_SPOT",
        "        to=S.DISCONTINUED,\n        volumes=VolumeEffect.DETACH,\n"
        "        messages=_GONE_OR_NOT_YET,\n    ),\n    Action.CONFIGURE_SPOT",
        ("tests/test_instance_states.py",),
    ),
    Bug(
        "token pruning deletes live refresh tokens",
        "src/verda_server/auth/service.py",
        "delete(RefreshToken).where(RefreshToken.expires_at <= self._clock.now())",
        "delete(RefreshToken).where(RefreshToken.created_at <= self._clock.now())",
        ("tests/test_auth.py",),
    ),
    Bug(
        "the CLI ignores --provisioning-seconds",
        "src/verda_server/cli.py",
        "Lifecycle(provisioning_seconds=provisioning_seconds, clone_seconds=clone_seconds)",
        "Lifecycle(clone_seconds=clone_seconds)",
        ("tests/test_cli_options.py",),
    ),
)


def plant(tree: Path, bug: Bug) -> None:
    path = tree / bug.path
    text = path.read_text()
    if text.count(bug.old) != 1:
        raise SystemExit(f"{bug.path}: the line to change is not there once: {bug.old!r}")
    path.write_text(text.replace(bug.old, bug.new))


def caught(bug: Bug) -> tuple[bool, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(".git", "mutants", "*.pyc"))
        plant(tree, bug)
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        started = time.monotonic()
        run = subprocess.run(
            [*PYTEST, "-k", "not postgresql", *bug.tests],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
        )
        return run.returncode == 1, time.monotonic() - started


def main() -> None:
    chosen = [int(a) for a in sys.argv[1:]] or range(1, len(BUGS) + 1)
    found = 0
    for number in chosen:
        bug = BUGS[number - 1]
        hit, seconds = caught(bug)
        found += hit
        print(f"{number:2}. {'caught ' if hit else 'MISSED '} {bug.what} ({seconds:.0f} s)")
    print(f"{found} of {len(chosen)} planted bugs caught")


if __name__ == "__main__":
    main()
