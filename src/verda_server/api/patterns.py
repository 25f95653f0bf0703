"""What each pattern of a request field means, for the 400 that refuses a value.

A pattern is both the document's constraint and the check, but quoting it back
("should match pattern '^[A-Za-z0-9]…'") helps nobody: the refusal says this.
"""

from __future__ import annotations

MEANINGS: dict[str, str] = {}


def explained(pattern: str, meaning: str) -> str:
    MEANINGS[pattern] = meaning
    return pattern
