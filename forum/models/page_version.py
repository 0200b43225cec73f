"""The public pages' version: one counter per key, bumped in the same transaction as any
change a public page shows (`forum.common.page_versions` does the bumping), so a cache of
rendered pages and their ETags can be keyed by one small read instead of the rows.

A row rather than a sequence: a sequence hands out numbers before commit (a reader could see
a later number while an earlier change is still uncommitted), an UPDATE is serialised with
the change itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from forum.core.extensions import Model
from forum.models.base import TZDateTime


class PageVersion(Model):
    __tablename__ = "page_version"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    #: when it was last bumped: the pages' Last-Modified (never earlier than the real change)
    changed_at: Mapped[datetime] = mapped_column(TZDateTime(), nullable=False)
