"""All models, imported here so Alembic and the app see every table."""

from .base import Timestamps, TZDateTime, WallTime
from .events import EVENT_KINDS, PANELIST_ROLES, Event, EventPanelist, Panelist, Session
from .officers import ApiToken, Officer
from .outbox import OutboundMessage
from .participants import DELIVERY_MODES, Participant, Subscription

__all__ = [
    "DELIVERY_MODES",
    "EVENT_KINDS",
    "PANELIST_ROLES",
    "ApiToken",
    "Event",
    "EventPanelist",
    "Officer",
    "OutboundMessage",
    "Panelist",
    "Participant",
    "Session",
    "Subscription",
    "TZDateTime",
    "Timestamps",
    "WallTime",
]
