"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`.

Production settings unless FORUM_ENV=development; a setting that is unsafe outside
development stops the start with one line saying what to change (no traceback).
"""

from forum import create_app
from forum.core.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    raise SystemExit(f"forum: {exc}") from None
