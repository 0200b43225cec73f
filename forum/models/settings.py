"""Site-wide settings an officer changes on a page (branding), one row per key.

A key/value table keeps the schema still when a setting is added: the names and their
environment defaults live in `forum.branding`, which is the only reader and writer.
"""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from forum.core.extensions import Model
from forum.models.base import Timestamps


class SiteSetting(Timestamps, Model):
    __tablename__ = "site_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
