"""The README's worked example (examples/test_against_verda_server.py) passes
against a real server, as a user would run it: pytest in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.live import ADMIN_TOKEN, start_live_server

EXAMPLE = Path(__file__).parent.parent / "examples" / "test_against_verda_server.py"


def test_the_worked_example_passes(empty_database_url: str) -> None:
    # A server of its own: the example moves the clock, which every project shares.
    with start_live_server(empty_database_url) as server:
        env = {
            **os.environ,
            "VERDA_SERVER_URL": server.base_url,
            "VERDA_SERVER_ADMIN_TOKEN": ADMIN_TOKEN,
        }
        run = subprocess.run(
            [sys.executable, "-m", "pytest", str(EXAMPLE), "-q", "-p", "no:cacheprovider"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_the_readme_shows_the_example_as_it_is() -> None:
    readme = (EXAMPLE.parent.parent / "README.md").read_text()
    body = EXAMPLE.read_text().split('"""', 2)[2].lstrip("\n")
    assert f"```python\n{body}```" in readme
