"""The read model's memory: bounded by bytes, least recently read projects first,
and never an answer for another generation or past a due instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from verda_server.readmodel.cache import Answer, Answers

NOW = datetime(2026, 11, 28, tzinfo=UTC)
KEY = ("/v1/instances", b"")


def answer(size: int) -> Answer:
    return Answer([(b"content-type", b"application/json")], b"x" * size, route=None)


def test_an_answer_holds_for_its_generation_until_just_before_its_due_instant() -> None:
    answers = Answers()
    due = NOW + timedelta(seconds=3)
    entry = answers.open("p", 7, due)
    answers.keep("p", entry, KEY, answer(10))
    assert answers.find("p", 7, due - timedelta(microseconds=1), KEY) is not None
    assert answers.find("p", 7, due, KEY) is None  # due: rendered again
    assert answers.find("p", 8, NOW, KEY) is None  # another generation
    assert answers.find("q", 7, NOW, KEY) is None  # another project
    assert answers.entry("p", 8, NOW) is None and answers.size == 0  # stale: dropped


def test_the_least_recently_read_project_goes_first_when_the_budget_is_spent() -> None:
    answers = Answers(budget=3000)
    for project in ("a", "b"):
        answers.keep(project, answers.open(project, 1, None), KEY, answer(1000))
    assert answers.find("a", 1, NOW, KEY) is not None  # a is read: b is now the oldest
    answers.keep("c", answers.open("c", 1, None), KEY, answer(1000))
    assert answers.find("b", 1, NOW, KEY) is None
    assert answers.find("a", 1, NOW, KEY) is not None
    assert answers.find("c", 1, NOW, KEY) is not None
    assert answers.size <= 3000


def test_an_answer_larger_than_the_budget_or_for_a_replaced_entry_is_not_kept() -> None:
    answers = Answers(budget=1000)
    entry = answers.open("p", 1, None)
    answers.keep("p", entry, KEY, answer(2000))
    assert answers.find("p", 1, NOW, KEY) is None
    answers.open("p", 2, None)  # a write moved the generation while it rendered
    answers.keep("p", entry, KEY, answer(10))
    assert answers.find("p", 1, NOW, KEY) is None and answers.find("p", 2, NOW, KEY) is None


def test_keeping_an_answer_again_counts_its_bytes_once() -> None:
    answers = Answers()
    entry = answers.open("p", 1, None)
    answers.keep("p", entry, KEY, answer(500))
    first = answers.size
    answers.keep("p", entry, KEY, answer(500))
    assert answers.size == first


def test_a_request_that_read_an_older_generation_never_replaces_a_later_ones_entry() -> None:
    """On PostgreSQL reads overlap in threads: one that read generation 1 may
    render after one that read 2 opened its entry."""
    answers = Answers()
    later = answers.open("p", 2, None)
    answers.keep("p", later, KEY, answer(10))
    assert answers.entry("p", 1, NOW) is None
    older = answers.open("p", 1, None)
    answers.keep("p", older, KEY, answer(10))
    assert answers.find("p", 2, NOW, KEY) is not None
    assert answers.find("p", 1, NOW, KEY) is None
