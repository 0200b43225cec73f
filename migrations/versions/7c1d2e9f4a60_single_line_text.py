"""single-line text: control characters in titles and names become spaces

Rows written before every door refused control characters (forum/validation.py) may hold
CR/LF or other C0 characters in single-line columns; in a mail Subject or a calendar line
they fail the send or the file. Cleaned the way `validation.single_line` cleans: each
control character becomes a space and runs of white space one space. Data only; nothing
to undo.

Revision ID: 7c1d2e9f4a60
Revises: 1f29f57380f1
Create Date: 2026-11-29 20:15:00

"""
import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7c1d2e9f4a60'
down_revision = '1f29f57380f1'
branch_labels = None
depends_on = None

SINGLE_LINE_COLUMNS = {
    "event": ("title", "contact_name", "contact_phone"),
    "session": ("title",),
    "panelist": ("name", "title", "affiliation", "pronouns"),
    "participant": ("name",),
    "thread": ("subject",),
    "post": ("subject", "author_name"),
    "announcement": ("subject",),
}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# What to look for in SQL (NUL cannot be stored in PostgreSQL text, so it is not searched).
_SEARCHED = [chr(c) for c in range(1, 32)] + [chr(0x7F)]


def _clean(value: str) -> str:
    return " ".join(_CONTROL.sub(" ", value).split())


def upgrade():
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table_name, columns in SINGLE_LINE_COLUMNS.items():
        if table_name not in existing:
            continue
        table = sa.table(table_name, sa.column("id"), *(sa.column(c) for c in columns))
        for column in columns:
            col = table.c[column]
            dirty = bind.execute(
                sa.select(table.c.id, col).where(sa.or_(*(col.contains(ch, autoescape=True) for ch in _SEARCHED)))
            ).all()
            for row_id, value in dirty:
                bind.execute(sa.update(table).where(table.c.id == row_id).values({column: _clean(value)}))


def downgrade():
    pass  # the original characters are not kept; nothing depends on them
