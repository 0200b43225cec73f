"""All models, imported here so Alembic and the app see every table."""

from .attendance import ATTENDANCE_SOURCES, Attendance
from .base import Timestamps, TZDateTime, WallTime, table_of
from .ce import (
    CERTIFICATE_KINDS,
    COMPLETION_RULES,
    QUESTION_KINDS,
    Certificate,
    CESettings,
    Evaluation,
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationResponse,
)
from .discussion import POST_STATUSES, Post, Thread
from .events import EVENT_KINDS, PANELIST_ROLES, Event, EventPanelist, Panelist, Session
from .mail_texts import MailText
from .officers import ApiToken, Officer
from .outbox import FanOut, OutboundBody, OutboundMessage, assemble
from .participants import DELIVERY_MODES, Participant, Subscription
from .pathways import LearningNeed, Pathway, PathwayFollow, PathwayStep, Resource, StepProgress
from .relay import RelayCapability
from .rsvp import PARTSTATS, Rsvp
from .scheduling import Announcement, JobRun, SchedulerLock
from .settings import SiteSetting
from .webinars import MATERIAL_KINDS, Material

__all__ = [
    "ATTENDANCE_SOURCES",
    "Attendance",
    "Announcement",
    "MATERIAL_KINDS",
    "Material",
    "CERTIFICATE_KINDS",
    "COMPLETION_RULES",
    "QUESTION_KINDS",
    "Certificate",
    "CESettings",
    "Evaluation",
    "EvaluationAnswer",
    "EvaluationQuestion",
    "EvaluationResponse",
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
    "FanOut",
    "OutboundBody",
    "OutboundMessage",
    "assemble",
    "POST_STATUSES",
    "Panelist",
    "Participant",
    "LearningNeed",
    "Pathway",
    "PathwayFollow",
    "PathwayStep",
    "Resource",
    "StepProgress",
    "PARTSTATS",
    "Post",
    "Rsvp",
    "RelayCapability",
    "Session",
    "SiteSetting",
    "Subscription",
    "Thread",
    "TZDateTime",
    "Timestamps",
    "WallTime",
    "table_of",
]
