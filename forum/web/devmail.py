"""Placeholder blueprint: filled in by the issue that owns this area."""

from flask import Blueprint

bp = Blueprint("devmail", __name__)
