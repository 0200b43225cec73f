"""JSON API under /api/v1 (flask-smorest)."""

from flask_smorest import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Events, sessions, panelists")
