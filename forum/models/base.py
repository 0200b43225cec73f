"""Column types and mixins shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Column, DateTime, ForeignKey, Table, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, MappedColumn, mapped_column
from sqlalchemy.types import TypeDecorator

from forum.core import clock
from forum.core.extensions import Base, Model, db


def table_of(model: type[Base]) -> Table:
    """The Core `Table` a model maps, for the bulk statements that bypass the ORM.

    SQLAlchemy types ``__table__`` as `FromClause` (a class may map a join); ours each map
    one table, so the cast only states what is true here.
    """
    return cast(Table, model.__table__)


class TZDateTime(TypeDecorator[datetime]):
    """An instant, stored as UTC and always returned aware.

    SQLite keeps no offset even for ``DateTime(timezone=True)``, so everything goes
    through this one type (SQLAlchemy's documented TZDateTime recipe): naive values
    are refused on the way in, and values come back with ``tzinfo=UTC``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise TypeError(f"naive datetime {value!r} given for an instant column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class WallTime(TypeDecorator[datetime]):
    """A wall-clock time with no zone; the zone lives in its own column beside it.

    Naive on purpose (it is the officer's input, the truth that survives tz rule
    changes); only `timezones.localize` turns it into an instant.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is not None and value.tzinfo is not None:
            raise TypeError("wall times are stored without tzinfo; keep the zone in its column")
        return value


Row = TypeVar("Row")


def queue_of(model: type[Row], event_id: int, status: str, since: Any) -> list[Row]:
    """An event's rows in one state, first come first (by `since`, then id): the moderation
    queue, the waiting list and the registrations awaiting approval are each one of these."""
    table: Any = model  # Post and Subscription: both have event_id, status and id
    query = select(model).where(table.event_id == event_id, table.status == status).order_by(since, table.id)
    return list(db.session.scalars(query))


class Keyed:
    """The surrogate integer key `id`, declared once (as Django and Rails do) so that a
    model's own lines are its own columns. Tables keyed by a name (site settings, page
    versions, relays, the scheduler's lock) do without it. `sort_order` keeps it the first
    column, as it was when each model spelled it out."""

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-1)


def belongs_to(parent: str, *, unique: bool = False, index: bool = True) -> MappedColumn[Any]:
    """The key of the row this one belongs to (table `parent`): deleted with it, and indexed,
    since every lookup goes from the parent to its rows (a subscription's RSVPs, a response's
    answers). `unique`: at most one such row per parent. `index=False`: a key no lookup starts
    from (a row found by its unique pair, such as mentoring's declines and watches); deleting
    the parent then scans this table, so keep it to small ones."""
    return mapped_column(ForeignKey(f"{parent}.id", ondelete="CASCADE"), unique=unique, index=index)


def link_table(name: str, left: str, right: str) -> Table:
    """A many-to-many table: one row per (`left`, `right`) pair, gone with either side. The
    primary key serves lookups from `left`; `right`'s key has its own index for the way back."""
    return Table(
        name,
        Model.metadata,
        Column(f"{left}_id", ForeignKey(f"{left}.id", ondelete="CASCADE"), primary_key=True),
        Column(f"{right}_id", ForeignKey(f"{right}.id", ondelete="CASCADE"), primary_key=True, index=True),
    )


def newest_first(model: type[Row], *where: Any, by: Any = None) -> list[Row]:
    """The rows that match, newest first (by `created_at` unless another instant is named, then
    id for rows of the same instant): a reader's own lists on their preferences page (thread
    choices, pathways followed), an officer's lists (a cycle's newsletters, its pairs' stories)."""
    table: Any = model  # a Timestamps model, or one with the instant `by`
    instant = table.created_at if by is None else by
    query = select(model).where(*where).order_by(instant.desc(), table.id.desc())
    return list(db.session.scalars(query))


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now, onupdate=clock.now)


def add_once(row: Any) -> bool:
    """Add `row` in a savepoint of the caller's transaction; False (the savepoint undone,
    the transaction intact) when a unique key says a concurrent transaction added it first."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True
