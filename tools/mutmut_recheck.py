"""Re-run mutmut's surviving mutants against whole test files.

mutmut runs each mutant only against the tests it saw call the mutated function
while it collected its statistics. Code that runs while the session's shared test
server is built (the catalog's pre-rendered price lists) is charged to whichever
test happened to start that server, so the pricing tests never see those mutants;
and mutants that survived an earlier run are not tried again when tests are added.
This runs each survivor (as `mutmut results` lists them) against the given test
files, in ./mutants, with the mutant switched on the way mutmut does it.

    mutmut run --max-children 1          # first
    python tools/mutmut_recheck.py 'verda_server.catalog.*' -- tests/test_pricing_exact.py

Prints each mutant's verdict and the count; exits 1 if one still survives.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys

PYTEST_ARGS = ["-x", "-q", "-k", "not postgresql", "-p", "no:cacheprovider", "--no-header"]


def survivors() -> list[str]:
    listed = subprocess.run(["mutmut", "results"], capture_output=True, text=True, check=True)
    names = []
    for line in listed.stdout.splitlines():
        name, _, verdict = line.strip().partition(": ")
        if verdict == "survived":
            names.append(name)
    return names


def killed(name: str, tests: list[str]) -> bool:
    env = os.environ | {"MUTANT_UNDER_TEST": name, "PYTHONPATH": "src"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *PYTEST_ARGS, *tests],
        cwd="mutants",
        env=env,
        capture_output=True,
        text=True,
    )
    return run.returncode != 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pattern", help="mutant names to re-run (fnmatch)")
    parser.add_argument("tests", nargs="+", help="test files or node ids")
    args = parser.parse_args()
    names = [n for n in survivors() if fnmatch.fnmatch(n, args.pattern)]
    # The tests as they are now, not as mutmut copied them when its run began.
    shutil.copytree("tests", "mutants/tests", dirs_exist_ok=True)
    alive = []
    for name in names:
        verdict = killed(name, args.tests)
        print(f"{'killed' if verdict else 'SURVIVED':8} {name}", flush=True)
        if not verdict:
            alive.append(name)
    print(f"killed {len(names) - len(alive)} of {len(names)}")
    return 1 if alive else 0


if __name__ == "__main__":
    sys.exit(main())
