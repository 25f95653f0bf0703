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
"""

from __future__ import annotations

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

# The execution option by which a statement's caller says it changes nothing a
# read answers (the PostgreSQL writers' lock).
TOUCHED = "verda_touched"
_KEY = "verda.generation"
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
    __slots__ = ("all", "parents", "projects")

    def __init__(self) -> None:
        self.projects: set[str] = set()
        self.parents: dict[Table, set[Any]] = {}
        self.all = False


def _touched(session: Session) -> _Touched:
    touched = session.info.get(_KEY)
    if touched is None:
        touched = session.info[_KEY] = _Touched()
    return touched  # type: ignore[no-any-return]


def touch(session: Session, project_id: str) -> None:
    """The unit changed rows of the project by statements no flush follows (Core
    inserts run on the session's connection, which name the project)."""
    touched = _touched(session)
    if not touched.all:
        touched.projects.add(project_id)


def touch_all(session: Session) -> None:
    _touched(session).all = True


def wrote_in_bulk(session: Session) -> bool:
    """Whether the unit ran a statement that may have changed any project's rows
    without naming them (what it changed can't be followed from its flushes)."""
    touched = session.info.get(_KEY)
    return touched is not None and touched.all


class Moved:
    """The generations a unit moved: every project's, or some projects'."""

    __slots__ = ("projects", "value")

    def __init__(self, value: int, projects: frozenset[str] | None) -> None:
        self.value = value
        self.projects = projects  # None: every project's

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
        self._some = (
            update(projects)
            .where(projects.c.id.in_(bindparam("ids", expanding=True)))
            .values(generation=value)
        )
        self._projects = projects

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
        for obj in (*session.new, *session.dirty, *session.deleted):
            table = obj.__table__
            if table.name in IGNORED:
                continue
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
        if ids:
            connection.execute(self._some, {"ids": sorted(ids), "value": value})
        session.info[MOVED] = Moved(value, frozenset(ids))

    def _forget(self, session: Session) -> None:
        # MOVED stays for the after_commit listeners (billing/sums.py) to read.
        session.info.pop(_KEY, None)

    def _forget_rollback(self, session: Session, previous: SessionTransaction) -> None:
        # A savepoint's rollback leaves what the enclosing transaction touched.
        if previous.parent is None:
            session.info.pop(_KEY, None)
            session.info.pop(MOVED, None)
