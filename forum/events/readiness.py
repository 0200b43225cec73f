"""A draft's overview: what is ready and what is missing before publishing, and what
publishing will (and will not) send. An empty delivery chart told an officer nothing about a
draft; this list is what they check before pressing Publish.

The checks read only the event (no mail is looked at), so the overview stays one query per
relation; `forum/web/events/manage.py` shows them, linking each to the page that fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from forum.core.timezones import format_date
from forum.models import Event


@dataclass(frozen=True)
class Check:
    key: str  # sessions | panelists | join_link | contact | conduct: the page that fixes it
    state: str  # ready | missing | optional
    text: str


def checks(event: Event) -> list[Check]:
    """The draft's readiness, in the order an officer sets an event up."""
    live = event.active_sessions
    found = [_sessions(event)]
    found.append(
        Check("panelists", "ready", ngettext("%(num)d panelist.", "%(num)d panelists.", len(event.panelist_links)))
        if event.panelist_links
        else Check("panelists", "optional", _("No panelists yet (optional): they are shown with their sessions."))
    )
    if not event.is_eforum and live:
        without = [s for s in live if not s.join_url]
        if not without:
            found.append(Check("join_link", "ready", _("Every session has a join link.")))
        else:
            found.append(
                Check(
                    "join_link",
                    "missing",
                    ngettext(
                        "%(num)d of %(total)d sessions has no join link: registrants get the link in their "
                        "invitations and reminders, so add it before they register.",
                        "%(num)d of %(total)d sessions have no join link: registrants get the link in their "
                        "invitations and reminders, so add it before they register.",
                        len(without),
                        total=len(live),
                    ),
                )
            )
    found.append(
        Check("contact", "ready", _("Contact: %(who)s.", who=event.contact_name or event.contact_email or event.contact_phone))
        if event.contact_email or event.contact_phone
        else Check("contact", "missing", _("No contact: registrants cannot ask questions."))
    )
    found.append(
        Check("conduct", "ready", _("Registrants accept the code of conduct when they register."))
        if event.conduct_url
        else Check("conduct", "missing", _("No code of conduct: registrants are not asked to accept one."))
    )
    return found


def _sessions(event: Event) -> Check:
    live = event.active_sessions
    if not live:
        return Check("sessions", "missing", _("No sessions yet: publishing needs at least one."))
    first, last = event.first_date, event.last_date
    if first is None or last is None or first == last:
        dates = format_date(first or live[0].start_local)
    else:
        dates = f"{format_date(first)} – {format_date(last)}"
    return Check(
        "sessions",
        "ready",
        ngettext("%(num)d session, %(dates)s.", "%(num)d sessions, %(dates)s.", len(live), dates=dates),
    )


def what_publishing_sends(event: Event) -> str:
    """Publishing itself mails nobody; say so, and what each registration will then get."""
    if event.is_eforum:
        return _(
            "Publishing mails nobody by itself: the page and its calendar file go public. Each person "
            "who subscribes gets a confirmation, then a welcome with the dates and how to post; "
            "when the e-forum opens, every subscriber gets the opening message."
        )
    return _(
        "Publishing mails nobody by itself: the page and its calendar file go public. Each person "
        "who registers gets a confirmation, then a welcome carrying the first session's calendar "
        "invitation, followed by one invitation per later session, and the reminders you set."
    )
