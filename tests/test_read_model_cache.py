"""The read model's memory: bounded by bytes, least recently read projects first,
and never an answer for another generation or past a due instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from verda_server.instances import render
from verda_server.readmodel.cache import Answer, Answers
from verda_server.readmodel.instances import InstanceView

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
    assert answers.reusable("p", 8) is None and answers.size == 0  # stale: dropped


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
    assert answers.size == first == entry.size


def test_an_answer_exactly_as_large_as_the_budget_is_kept():
    cost = 500 + len(KEY[0]) + 256
    answers = Answers(budget=cost)
    answers.keep("p", answers.open("p", 1, None), KEY, answer(500))
    assert answers.find("p", 1, NOW, KEY) is not None and answers.size == cost


def test_a_request_that_read_an_older_generation_never_replaces_a_later_ones_entry() -> None:
    """On PostgreSQL reads overlap in threads: one that read generation 1 may
    render after one that read 2 opened its entry."""
    answers = Answers()
    later = answers.open("p", 2, None)
    answers.keep("p", later, KEY, answer(10))
    assert answers.reusable("p", 1) is None
    older = answers.open("p", 1, None)
    answers.keep("p", older, KEY, answer(10))
    assert answers.find("p", 2, NOW, KEY) is not None
    assert answers.find("p", 1, NOW, KEY) is None


def _record(instance_id: str, second: int, removed: bool = False) -> render.Record:
    order = (NOW + timedelta(seconds=second), instance_id)
    return render.Record(order, removed, f'{{"id":"{instance_id}"}}'.encode())


def test_the_view_lists_its_live_instances_in_order_and_forgets_the_gone():
    view = InstanceView()
    assert view.list_body() is None and view.wants(None) is None  # nothing read yet
    view.put(None, [_record("b", 2), _record("a", 1), _record("c", 3, removed=True)], view.marks)
    assert view.list_body() == b'[{"id":"a"},{"id":"b"}]'
    assert view.item("c") == b'{"id":"c"}'  # an item answers, removed or not
    assert view.wants(None) == [] and view.wants("a") == []
    assert view.size == sum(len(view.item(i)) for i in "abc")
    view.mark(["a", "z"])
    assert view.list_body() is None and view.item("a") is None
    assert view.wants(None) == ["a", "z"] and view.wants("b") == []  # b is as it was
    assert view.wants("a") == ["a", "z"] and view.wants("y") == ["a", "y", "z"]
    view.put(["a", "z"], [_record("z", 0)], view.marks)  # a went; z is new
    assert view.list_body() == b'[{"id":"z"},{"id":"b"}]'
    assert view.item("a") is None and view.wants("a") == ["a"]


def test_a_render_begun_before_a_write_named_its_instances_is_not_kept():
    view = InstanceView()
    view.put(None, [_record("a", 1)], view.marks)
    view.mark(["a"])
    began = view.marks
    view.mark(["a"])  # a second write while it rendered
    view.put(["a"], [_record("a", 1)], began)
    assert view.item("a") is None and view.wants(None) == ["a"]
    view.put(["a"], [_record("a", 1)], view.marks)
    assert view.item("a") == b'{"id":"a"}'


def test_an_instance_view_counts_against_the_budget_as_it_grows():
    answers = Answers(budget=1500)
    for project in ("p", "q"):
        entry = answers.open(project, 1, None)
        entry.view = InstanceView()
        answers.keep(project, entry, KEY, answer(100))
        entry.view.put(None, [_record(f"{project}{n}", n) for n in range(3)], entry.view.marks)
        answers.resize(project, entry)
        assert entry.size == entry.view.size + 100 + len(KEY[0]) + 256
    assert answers.size == sum(e.size for e in answers._entries.values()) <= 1500
    grown = answers._entries["q"]
    grown.view.put(None, [_record(f"q{n}", n) for n in range(80)], grown.view.marks)
    answers.resize("q", grown)  # over the budget: p, read least recently, goes
    assert list(answers._entries) == ["q"] and answers.size == grown.size
    answers.resize("gone", grown)  # not the project's entry: nothing counted
    assert answers.size == grown.size
