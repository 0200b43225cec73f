"""All models, imported here so Alembic and the app see every table."""

from forum.models import search_ddl  # noqa: F401 - the full-text index's DDL, run by create_all
from forum.models.attendance import ATTENDANCE_SOURCES, Attendance
from forum.models.base import Timestamps, TZDateTime, WallTime, table_of
from forum.models.ce import (
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
from forum.models.discussion import POST_STATUSES, THREAD_CHOICES, AcceptedSender, Post, Thread, ThreadChoice
from forum.models.events import (
    EVENT_KINDS,
    MATERIAL_KINDS,
    PANELIST_ROLES,
    Event,
    EventPanelist,
    Material,
    Panelist,
    Session,
)
from forum.models.mail_texts import MailText
from forum.models.mentoring import (
    MentoringApplication,
    MentoringCheckIn,
    MentoringCycle,
    MentoringDecline,
    MentoringMatch,
    MentoringMember,
    MentoringProgramme,
    MentoringStory,
    MentoringWatch,
)
from forum.models.officers import ApiToken, Officer
from forum.models.outbox import FanOut, OutboundBody, OutboundMessage, assemble
from forum.models.page_version import PageVersion
from forum.models.participants import (
    DELIVERY_MODES,
    DIGEST_RHYTHMS,
    DIGEST_STYLES,
    WEEKDAYS,
    Participant,
    Subscription,
)
from forum.models.pathways import LearningNeed, Pathway, PathwayFollow, PathwayStep, Resource, StepProgress
from forum.models.registration import (
    CHOICE_DISPLAYS,
    FORM_QUESTION_KINDS,
    FormAnswer,
    FormQuestion,
    QuestionForm,
    QuestionPreset,
)
from forum.models.relay import RelayCapability
from forum.models.rsvp import PARTSTATS, Rsvp
from forum.models.scheduling import Announcement, JobRun, SchedulerLock
from forum.models.settings import SiteSetting
from forum.models.team import (
    EVENT_ROLES,
    WEBHOOK_KINDS,
    AuditEntry,
    EventRole,
    ObjectRole,
    WebhookDelivery,
    WebhookEndpoint,
)
from forum.models.topics import Topic, event_topic, pathway_topic

__all__ = [
    "Topic",
    "event_topic",
    "pathway_topic",
    "AcceptedSender",
    "ATTENDANCE_SOURCES",
    "CHOICE_DISPLAYS",
    "FORM_QUESTION_KINDS",
    "FormAnswer",
    "FormQuestion",
    "QuestionForm",
    "QuestionPreset",
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
    "DIGEST_RHYTHMS",
    "DIGEST_STYLES",
    "THREAD_CHOICES",
    "ThreadChoice",
    "WEEKDAYS",
    "EVENT_KINDS",
    "EVENT_ROLES",
    "EventRole",
    "ObjectRole",
    "AuditEntry",
    "WEBHOOK_KINDS",
    "WebhookDelivery",
    "WebhookEndpoint",
    "PANELIST_ROLES",
    "ApiToken",
    "Event",
    "EventPanelist",
    "Officer",
    "MentoringApplication",
    "MentoringCheckIn",
    "MentoringCycle",
    "MentoringDecline",
    "MentoringMatch",
    "MentoringMember",
    "MentoringStory",
    "MentoringProgramme",
    "MentoringWatch",
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
    "PageVersion",
    "SiteSetting",
    "Subscription",
    "Thread",
    "TZDateTime",
    "Timestamps",
    "WallTime",
    "table_of",
]
