"""Site-wide settings an officer changes on a page (branding), one row per key.

A key/value table keeps the schema still when a setting is added: the names and their
environment defaults live with the area that owns them (`common/branding.py`,
`common/accessibility.py`), which read them and write them through `SiteSetting.put`.
"""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from forum.core.extensions import Model, db
from forum.models.base import Timestamps


class SiteSetting(Timestamps, Model):
    __tablename__ = "site_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")

    @classmethod
    def put(cls, key: str, value: str) -> None:
        """Set one setting (the row is made the first time); the caller commits."""
        row = db.session.get(cls, key)
        if row is None:
            db.session.add(cls(key=key, value=value))
        else:
            row.value = value
