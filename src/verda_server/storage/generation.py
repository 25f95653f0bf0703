"""Per-project generations: every write transaction that changes what a project's
reads answer moves the project's `generation` on, in the same transaction.

A reader that remembers an answer together with the generation it read before
rendering it can tell, from that one column, whether the answer may still be
served (readmodel/). The values come from one store-wide counter, so they never
repeat: a project deleted and created again, a reset or a snapshot import can
never bring back a generation some replica still remembers.

What a transaction touched is collected from the ORM's flushes (an object's
`project_id`, or its parent's through a foreign key for the link tables) and
from bulk statements (which name no objects: those touch every project, unless
the caller marks the statement as changing nothing a read answers).

Finer: a model whose rows are part of answers the read model keeps item by
item says so with `__answer_of__` (the answer's family and the attribute that
holds its id, or a function of the row giving both or None). A unit's flushed
rows of such models name the answers it changed; once committed, the unit
leaves its step (each project's generation before and after, those keys) in
the store's change log (storage/changes.py). A unit that deletes a row the
store cascades into such rows on its own (ON DELETE), or writes by statements
that don't say what they touched, changed answers it cannot name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import BigInteger, Integer, Table, bindparam, event, select, update
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    mapped_column,
    sessionmaker,
)

from verda_server.storage.base import Base
from verda_server.storage.changes import Key, change_log

# The execution option by which a statement's caller says it changes nothing a
# read answers (the PostgreSQL writers' lock).
TOUCHED = "verda_touched"
_KEY = "verda.generation"
# Session.info: a committed unit's step, for the change log (storage/changes.py).
_STEP = "verda.generation.step"
# Session.info: where a committed unit left the generations it moved (Moved).
MOVED = "verda.generation.moved"
# Session.info: memory kept per store beside it (Database.memory), for what may
# be remembered of its committed state.
STORE_MEMORY = "verda.store_memory"


class StoreGeneration(Base):
    """The counter every generation is drawn from: one row."""

    __tablename__ = "store_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


# A model's rows are part of answers of one family: ("instance", "id") names the
# family and the attribute with the answer's id; a function of the row gives
# (family, id), or None for a row that is part of none.
ANSWER_OF = "__answer_of__"
AnswerOf = tuple[str, str] | Callable[[Any], Key | None]


# Tables no read of a project's resources answers from: their changes touch nothing.
IGNORED = frozenset({"refresh_tokens", "signing_keys", "control_state", "store_generation"})


def owner_of(table: Table) -> tuple[str, Table] | None:
    """For a table without a project_id: the column that names its parent, and
    the parent's table (which has one); None when there is no such parent."""
    for key in sorted(table.foreign_keys, key=lambda k: k.parent.name):
        if "project_id" in key.column.table.c:
            return key.parent.name, key.column.table
    return None


class _Touched:
    __slots__ = ("all", "keys", "opaque", "parents", "projects")

    def __init__(self) -> None:
        self.projects: set[str] = set()
        self.parents: dict[Table, set[Any]] = {}
        self.all = False
        # The answers named by the rows written; `opaque`: some not named.
        self.keys: set[Key] = set()
        self.opaque = False


def _touched(session: Session) -> _Touched:
    touched = session.info.get(_KEY)
    if touched is None:
        touched = session.info[_KEY] = _Touched()
    return touched  # type: ignore[no-any-return]


def touch(session: Session, project_id: str, keys: Iterable[Key] | None = None) -> None:
    """The unit changed rows of the project by statements no flush follows (Core
    inserts run on the session's connection, which name the project): `keys`
    names the answers (see ANSWER_OF) those rows are part of, () none; None
    says they are not known."""
    touched = _touched(session)
    if not touched.all:
        touched.projects.add(project_id)
        if keys is None:
            touched.opaque = True
        else:
            touched.keys.update(keys)


def touch_all(session: Session) -> None:
    _touched(session).all = True


def wrote_in_bulk(session: Session) -> bool:
    """Whether the unit ran a statement that may have changed any project's rows
    without naming them (what it changed can't be followed from its flushes)."""
    touched = session.info.get(_KEY)
    return touched is not None and touched.all


class Moved:
    """The generations a unit moved: every project's, or some projects'."""

    __slots__ = ("keys", "previous", "projects", "value")

    def __init__(
        self,
        value: int,
        projects: frozenset[str] | None,
        previous: dict[str, int] | None = None,
        keys: frozenset[Key] | None = None,
    ) -> None:
        self.value = value
        self.projects = projects  # None: every project's
        # Each project's generation before the unit, and the answers it changed
        # (None: not known).
        self.previous = previous or {}
        self.keys = keys

    def generation_of(self, project_id: str) -> int | None:
        if self.projects is None or project_id in self.projects:
            return self.value
        return None


class Generations:
    """The hooks on a sessionmaker's sessions."""

    def __init__(self) -> None:
        self._owners: dict[Table, tuple[str, Table] | None] = {}
        self._mappers: dict[Any, Any] | None = None
        self._table = StoreGeneration.__table__
        projects = Base.metadata.tables["projects"]
        self._bump = (
            update(self._table).values(value=self._table.c.value + 1).returning(self._table.c.value)
        )
        value = bindparam("value", type_=BigInteger)
        self._all = update(projects).values(generation=value)
        # The generation it replaces is kept beside it and returned: the
        # step's start (SET reads the row as it was before the update).
        self._some = (
            update(projects)
            .where(projects.c.id.in_(bindparam("ids", expanding=True)))
            .values(previous_generation=projects.c.generation, generation=value)
            .returning(projects.c.id, projects.c.previous_generation)
        )
        self._projects = projects
        self._answer_of: dict[Table, AnswerOf | None] = {}
        self._cascading: frozenset[Table] | None = None

    def install(self, sessions: sessionmaker[Session]) -> None:
        event.listen(sessions, "after_flush", self._after_flush)
        event.listen(sessions, "do_orm_execute", self._on_execute)
        event.listen(sessions, "before_commit", self._before_commit)
        event.listen(sessions, "after_commit", self._forget)
        event.listen(sessions, "after_soft_rollback", self._forget_rollback)

    def _after_flush(self, session: Session, _context: object) -> None:
        touched = _touched(session)
        if touched.all:
            return
        if not touched.opaque and session.deleted:
            cascading = self._cascading_into_answers()
            touched.opaque = any(obj.__table__ in cascading for obj in session.deleted)
        for obj in (*session.new, *session.dirty, *session.deleted):
            table = obj.__table__
            if table.name in IGNORED:
                continue
            self._name_answer(touched, table, obj)
            if table is self._projects:
                touched.projects.add(obj.id)
            elif "project_id" in table.c:
                touched.projects.add(obj.project_id)
            else:
                if table not in self._owners:
                    self._owners[table] = owner_of(table)
                owner = self._owners[table]
                if owner is None:
                    touched.all = True
                    return
                key = getattr(obj, owner[0])
                parent = self._in_session(session, owner[1], key)
                if parent is not None:
                    touched.projects.add(parent.project_id)
                else:
                    touched.parents.setdefault(owner[1], set()).add(key)

    def _name_answer(self, touched: _Touched, table: Table, obj: Any) -> None:
        if table not in self._answer_of:
            self._answer_of[table] = getattr(type(obj), ANSWER_OF, None)
        answer_of = self._answer_of[table]
        if answer_of is None:
            return
        if callable(answer_of):
            key = answer_of(obj)
            if key is not None:
                touched.keys.add(key)
        else:
            touched.keys.add((answer_of[0], getattr(obj, answer_of[1])))

    def _cascading_into_answers(self) -> frozenset[Table]:
        """Tables whose deleted rows the store follows into rows of answers
        (ON DELETE CASCADE / SET NULL), which no flush then names."""
        if self._cascading is None:
            answering = [
                m.local_table for m in Base.registry.mappers if hasattr(m.class_, ANSWER_OF)
            ]
            self._cascading = frozenset(
                key.column.table
                for table in answering
                for key in table.foreign_keys
                if key.ondelete is not None
            )
        return self._cascading

    def _in_session(self, session: Session, table: Table, key: Any) -> Any:
        """The parent row's object if the session holds it (no query)."""
        if self._mappers is None:
            self._mappers = {m.local_table: m for m in Base.registry.mappers}
        mapper = self._mappers.get(table)
        if mapper is None:
            return None
        return session.identity_map.get(mapper.identity_key_from_primary_key((key,)))

    def _on_execute(self, state: ORMExecuteState) -> None:
        if state.is_select or state.execution_options.get(TOUCHED):
            return
        table = getattr(state.statement, "table", None)
        if table is None or getattr(table, "name", None) not in IGNORED:
            touch_all(state.session)

    def _before_commit(self, session: Session) -> None:
        session.info.pop(MOVED, None)
        session.info.pop(_STEP, None)
        session.flush()
        touched = session.info.pop(_KEY, None)
        if touched is None or not (touched.all or touched.projects or touched.parents):
            return
        # On the session's connection: Core statements that name what they
        # change, run without the session's execute (its events and its
        # ORM compile step), which sees nothing here to follow.
        connection = session.connection()
        value = connection.execute(self._bump).scalar_one()
        if touched.all:
            connection.execute(self._all, {"value": value})
            session.info[MOVED] = Moved(value, None)
            return
        ids = set(touched.projects)
        for parent, keys in touched.parents.items():
            ids.update(connection.scalars(select(parent.c.project_id).where(parent.c.id.in_(keys))))
        ids.discard(None)  # type: ignore[arg-type]
        previous: dict[str, int] = {}
        if ids:
            moved = connection.execute(self._some, {"ids": sorted(ids), "value": value})
            previous = {row[0]: row[1] for row in moved}
        keys = None if touched.opaque else frozenset(touched.keys)
        session.info[MOVED] = session.info[_STEP] = Moved(value, frozenset(ids), previous, keys)

    def _forget(self, session: Session) -> None:
        # MOVED stays for the after_commit listeners (billing/sums.py) to read
        # (which may take it before this one runs: the step has its own key).
        session.info.pop(_KEY, None)
        step: Moved | None = session.info.pop(_STEP, None)
        memory = session.info.get(STORE_MEMORY)
        if step is not None and step.previous and memory is not None:
            change_log(memory).add(step.previous, step.value, step.keys)

    def _forget_rollback(self, session: Session, previous: SessionTransaction) -> None:
        # A savepoint's rollback leaves what the enclosing transaction touched.
        if previous.parent is None:
            session.info.pop(_KEY, None)
            session.info.pop(MOVED, None)
            session.info.pop(_STEP, None)
