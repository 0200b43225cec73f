"""All models, imported here so Alembic and the app see every table."""

from .attendance import ATTENDANCE_SOURCES, Attendance
from .base import Timestamps, TZDateTime, WallTime, table_of
from .discussion import POST_STATUSES, Post, Thread
from .events import EVENT_KINDS, PANELIST_ROLES, Event, EventPanelist, Panelist, Session
from .officers import ApiToken, Officer
from .outbox import OutboundMessage
from .participants import DELIVERY_MODES, Participant, Subscription
from .rsvp import PARTSTATS, Rsvp
from .scheduling import Announcement, JobRun, SchedulerLock

__all__ = [
    "ATTENDANCE_SOURCES",
    "Attendance",
    "Announcement",
    "JobRun",
    "SchedulerLock",
    "DELIVERY_MODES",
    "EVENT_KINDS",
    "PANELIST_ROLES",
    "ApiToken",
    "Event",
    "EventPanelist",
    "Officer",
    "OutboundMessage",
    "POST_STATUSES",
    "Panelist",
    "Participant",
    "PARTSTATS",
    "Post",
    "Rsvp",
    "Session",
    "Subscription",
    "Thread",
    "TZDateTime",
    "Timestamps",
    "WallTime",
    "table_of",
]
