"""A reader's choices about single threads: mute one, or follow only one.

Muting a thread takes its posts out of the reader's each-message mail and digests.
Following one gives the reader each of its posts as it is accepted, whatever their
delivery mode (a digest reader, or one who reads on the web), and takes it out of their
digests (they have read it already). "Follow only this thread" from an each-message
mail also moves the rest of the forum to a digest or to no mail (`rest_mode`): that is
what "only" means to someone who gets every message.

The choices are made without a login, through the signed links every list mail carries
(`mail.links.threads_url`), or on the preferences page; every door calls `choose`.
The post fan-out (`service.fan_out_chunk`) and the digests (`digests.send_digest`) read
them when they write the copies, never per reader in a request.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, exists, select

from forum.core.extensions import db
from forum.models import THREAD_CHOICES, Subscription, Thread, ThreadChoice
from forum.models.base import add_once, newest_first
from forum.subscriptions.service import change_mode

#: What the rest of the forum may become when a reader follows only one thread.
REST_MODES = ("digest", "none")


class ThreadChoiceError(ValueError):
    """A choice that cannot be made; `field` names the input at fault."""

    def __init__(self, message: str, field: str = "choice"):
        super().__init__(message)
        self.field = field


def thread_of(subscription: Subscription, thread_id: int) -> Thread | None:
    """The thread, if it is one of the subscription's forum (a link cannot reach another's)."""
    thread = db.session.get(Thread, thread_id)
    return thread if thread is not None and thread.event_id == subscription.event_id else None


def choice_of(subscription: Subscription, thread: Thread) -> str | None:
    return db.session.scalar(
        select(ThreadChoice.choice).where(
            ThreadChoice.subscription_id == subscription.id, ThreadChoice.thread_id == thread.id
        )
    )


def choices_of(subscription: Subscription) -> list[ThreadChoice]:
    """The reader's thread choices in this forum, newest first."""
    return newest_first(ThreadChoice, ThreadChoice.subscription_id == subscription.id)


def choose(
    subscription: Subscription, thread_id: int, choice: str | None, *, rest_mode: str | None = None
) -> ThreadChoice | None:
    """Mute (`"mute"`), follow (`"follow"`) or let go of (None) a thread, for one reader.

    `rest_mode` ("digest" or "none", only with "follow") moves the rest of the forum's mail
    for an each-message reader. Runs in the caller's transaction; returns the choice row
    (None when cleared). Raises ThreadChoiceError for a thread of another forum or an
    unknown choice.
    """
    if choice is not None and choice not in THREAD_CHOICES:
        raise ThreadChoiceError(_("“%(choice)s” is not a choice: use mute or follow.", choice=choice))
    if rest_mode is not None and (choice != "follow" or rest_mode not in REST_MODES):
        raise ThreadChoiceError(_("The rest of the forum can go to a digest or to no mail, when you follow a thread."), "rest")
    thread = thread_of(subscription, thread_id)
    if thread is None:
        raise ThreadChoiceError(_("There is no such thread in this e-forum."), "thread")
    row = db.session.scalar(
        select(ThreadChoice).where(
            ThreadChoice.subscription_id == subscription.id, ThreadChoice.thread_id == thread.id
        )
    )
    if choice is None:
        if row is not None:
            db.session.delete(row)
        return None
    if row is None:
        row = ThreadChoice(subscription_id=subscription.id, thread_id=thread.id, choice=choice)
        if not add_once(row):  # a double click raced us: take the row it wrote
            row = db.session.scalar(
                select(ThreadChoice).where(
                    ThreadChoice.subscription_id == subscription.id, ThreadChoice.thread_id == thread.id
                )
            )
            assert row is not None
    row.choice = choice
    if rest_mode is not None and subscription.mode == "each":
        change_mode(subscription, rest_mode)
    return row


def gets_post(thread_id: int | None) -> ColumnElement[bool]:
    """A WHERE clause on Subscription: who gets a post of this thread one by one.

    Each-message readers who did not mute it, and anyone who follows it.
    """
    if thread_id is None:
        return Subscription.mode == "each"
    mine = and_(ThreadChoice.subscription_id == Subscription.id, ThreadChoice.thread_id == thread_id)
    muted = exists().where(mine, ThreadChoice.choice == "mute")
    followed = exists().where(mine, ThreadChoice.choice == "follow")
    return ((Subscription.mode == "each") & ~muted) | followed


def left_out_of_digests(
    subscription_ids: Collection[int], thread_ids: Iterable[int | None]
) -> dict[int, frozenset[int]]:
    """Per reader, the threads among `thread_ids` their digest leaves out (muted or followed).

    Readers with none are absent. One query per 500 readers: a digest to 10,000 asks 20 times.
    """
    threads = sorted({t for t in thread_ids if t is not None})
    found: dict[int, set[int]] = {}
    if not threads or not subscription_ids:
        return {}
    ids = sorted(subscription_ids)
    for n in range(0, len(ids), 500):
        rows = db.session.execute(
            select(ThreadChoice.subscription_id, ThreadChoice.thread_id).where(
                ThreadChoice.subscription_id.in_(ids[n : n + 500]), ThreadChoice.thread_id.in_(threads)
            )
        )
        for sub_id, thread_id in rows:
            found.setdefault(sub_id, set()).add(thread_id)
    return {sub_id: frozenset(threads_) for sub_id, threads_ in found.items()}
