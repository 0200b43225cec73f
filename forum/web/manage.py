"""Placeholder blueprint: filled in by the issue that owns this area."""

from flask import Blueprint

bp = Blueprint("manage", __name__)
