"""All models, imported here so Alembic and the app see every table."""

from .attendance import ATTENDANCE_SOURCES, Attendance
from .base import Timestamps, TZDateTime, WallTime, table_of
from .discussion import POST_STATUSES, Post, Thread
from .events import EVENT_KINDS, PANELIST_ROLES, Event, EventPanelist, Panelist, Session
from .mail_texts import MailText
from .officers import ApiToken, Officer
from .outbox import OutboundMessage
from .participants import DELIVERY_MODES, Participant, Subscription
from .scheduling import Announcement, JobRun, SchedulerLock
from .settings import SiteSetting

__all__ = [
    "ATTENDANCE_SOURCES",
    "Attendance",
    "Announcement",
    "JobRun",
    "MailText",
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
    "Post",
    "Session",
    "SiteSetting",
    "Subscription",
    "Thread",
    "TZDateTime",
    "Timestamps",
    "WallTime",
    "table_of",
]
