"""Officer-written words in an event's mails: an intro paragraph and a sign-off per kind of
mail (welcome, reminder, update, cancellation, e-forum opening), in Markdown with a few
placeholders (`{{ name }}`, `{{ event_title }}`, `{{ session_time }}`).

The braces look like Jinja, and Jinja reads them, but only to find the pieces: a text is
literal Markdown and `{{ placeholder }}` and nothing else, and "rendering" it is substituting
the placeholders. Any other template code (`{% for %}`, filters, attributes, arithmetic) is
refused when the text is saved, with a message. An attack run showed why a sandbox is not
enough: it held every escape, but `{% for %}` nested twice kept a worker busy until it was
killed, `('x' * 2000000000)` took 2 GB, and a loop that ran only for long names passed the
save check and then made a registrant's confirm page fail. Substitution takes time and space
in proportion to the text, whoever the reader is. A text saved before this rule, or otherwise
unusable when a mail is built, is logged and left out: the mail goes with its standard words.
Templates ask for the words with the `mail_text(kind, part, event, participant, session)`
global; HTML parts get the Markdown rendered by `text.markdown` (sanitised).
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask import current_app
from flask_babel import gettext as _
from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from sqlalchemy import select

from forum.core import clock, timezones
from forum.core.extensions import db
from forum.core.text import markdown_lines
from forum.mail.compose import build_message
from forum.mail.outbox import enqueue
from forum.models import Event, MailText, Participant, Session, Subscription

KINDS = {
    "welcome": "Welcome (after registering)",
    "reminder": "Session reminder",
    "session_update": "Session changed",
    "session_cancelled": "Session cancelled",
    "forum_open": "E-forum opens",
}
EFORUM_ONLY = {"forum_open"}
PLACEHOLDERS = {
    "name": "the participant's name (empty when they gave none)",
    "event_title": "the event's title",
    "session_time": "the session's date and time in the participant's own zone",
}
PARTS = ("intro", "signoff")
MAX_LENGTH = 4000
#: A rendered part larger than this is not used (a text of placeholders only stays far below).
MAX_RENDERED = 40_000

# Only ever parses (to find the placeholders); a text is never executed as a template.
_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class MailTextError(ValueError):
    """An officer's text that cannot be used; the message says why, for the form."""


def kinds_for(event: Event) -> dict[str, str]:
    return {k: v for k, v in KINDS.items() if event.is_eforum or k not in EFORUM_ONLY}


def _only_placeholders() -> str:
    return (
        "This text cannot be used in mail: between braces only the placeholders "
        + ", ".join(f"{{{{ {p} }}}}" for p in PLACEHOLDERS)
        + " may appear, no other template code."
    )


@functools.lru_cache(maxsize=512)
def pieces(source: str) -> tuple[tuple[bool, str], ...]:
    """The text as (is placeholder, literal text or placeholder name) pieces; raises
    MailTextError for anything but literal text and known `{{ placeholder }}`s."""
    if len(source) > MAX_LENGTH:
        raise MailTextError(_("Keep it under %(count)s characters.", count=MAX_LENGTH))
    try:
        ast = _env.parse(source)
    except TemplateError as exc:
        reason = str(exc.message or exc).rstrip(".")
        raise MailTextError(_("This text cannot be used in mail: %(reason)s.", reason=reason)) from None
    found: list[tuple[bool, str]] = []
    for node in ast.body:
        if not isinstance(node, nodes.Output):
            raise MailTextError(_only_placeholders())
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                found.append((False, child.data))
            elif isinstance(child, nodes.Name) and child.name in PLACEHOLDERS:
                found.append((True, child.name))
            elif isinstance(child, nodes.Name):
                raise MailTextError(
                    f"Unknown placeholder {{{{ {child.name} }}}}. Use "
                    + ", ".join(f"{{{{ {p} }}}}" for p in PLACEHOLDERS)
                    + "."
                )
            else:
                raise MailTextError(_only_placeholders())
    return tuple(found)


def check(source: str) -> None:
    """Refuse a text that is not literal Markdown and known placeholders."""
    pieces(source)


def _names(source: str) -> set[str]:
    try:
        return {text for placeholder, text in pieces(source) if placeholder}
    except MailTextError:
        return set()


def sample_values() -> dict[str, str]:
    return {
        "name": "Jeannette Ho",
        "event_title": "Mentoring in Technical Services",
        "session_time": "Tuesday, 9/10/2019, 10:00 AM–11:00 AM (Eastern, EDT)",
    }


def uses_name(event: Event, kind: str) -> bool:
    """Whether the event's text for `kind` greets by name (bulk mails then group by it)."""
    row = texts_for(event, kind)
    if row is None:
        return False
    return any("name" in _names(getattr(row, p)) for p in PARTS)


def texts_for(event: Event, kind: str) -> MailText | None:
    if event.id is None:
        return None
    return db.session.scalar(select(MailText).where(MailText.event_id == event.id, MailText.kind == kind))


def save(event: Event, kind: str, intro: str, signoff: str) -> MailText | None:
    """Store (or, both empty, remove) the texts; raises MailTextError naming the part."""
    if kind not in kinds_for(event):
        raise MailTextError(_("Pick one of the listed mails."))
    for part, source in (("intro", intro), ("signoff", signoff)):
        try:
            check(source)
        except MailTextError as exc:
            raise MailTextError(_("Intro: %(reason)s", reason=exc) if part == "intro" else _("Sign-off: %(reason)s", reason=exc)) from None
    row = texts_for(event, kind)
    if not intro.strip() and not signoff.strip():
        if row is not None:
            db.session.delete(row)
        return None
    if row is None:
        row = MailText(event_id=event.id, kind=kind)
        db.session.add(row)
    row.intro, row.signoff = intro.strip(), signoff.strip()
    return row


def values_for(
    event: Event, participant: Participant | object | None, session: Session | None, source: str
) -> dict[str, str]:
    """The placeholders' values; the participant's name is read only when the text uses it
    (a shared body of a bulk mail may not read per-person fields)."""
    wanted = _names(source)
    values = {"event_title": event.title, "name": "", "session_time": ""}
    if "name" in wanted and participant is not None:
        values["name"] = getattr(participant, "name", "") or ""
    if "session_time" in wanted:
        zone = (getattr(participant, "timezone", None) if participant is not None else None) or event.timezone
        when = session or _next_session(event)
        if when is not None:
            values["session_time"] = session_time(when, zone)
    return values


def session_time(session: Session, zone: str) -> str:
    """`Tuesday, 2/9/2027, 8:30 PM–9:30 PM (Kolkata, IST)`."""
    local = timezones.to_zone(session.starts_at, zone)
    label = f"{timezones.label_for(zone)}, {local.tzname()}"
    return f"{timezones.format_date(local)}, {timezones.format_range(session.starts_at, session.ends_at, zone, label)}"


def _next_session(event: Event) -> Session | None:
    now = clock.now()
    upcoming = [s for s in event.active_sessions if s.ends_at >= now]
    if upcoming:
        return upcoming[0]
    return event.active_sessions[0] if event.active_sessions else None


_LINK = re.compile(r"\[([^\]\n]+)\]\((\S+?)\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)


def plain(text: str) -> str:
    """An officer's Markdown as a plain-text part shows it: no `**bold**` stars or `#`
    marks, a link as `text (address)`; lines as typed."""
    text = _LINK.sub(lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\1", text)
    return _HEADING.sub("", text)


def render(source: str, values: Mapping[str, str]) -> str:
    """The text with its placeholders filled in; empty (the mail keeps its standard words,
    and the log says why) when the text cannot be used: a mail is never lost to a text."""
    if not source:
        return ""
    try:
        parts = pieces(source)
    except MailTextError as exc:
        current_app.logger.warning("officer mail text left out: %s", exc)
        return ""
    text = "".join(str(values.get(value, "")) if placeholder else value for placeholder, value in parts)
    if len(text) > MAX_RENDERED:
        current_app.logger.warning("officer mail text left out: %d characters rendered", len(text))
        return ""
    return text.strip()


def mail_text(
    kind: str,
    part: str,
    event: Event,
    participant: object | None = None,
    session: Session | None = None,
    html: bool = False,
) -> str | Markup:
    """The Jinja global the mail templates call; empty when the officer wrote nothing."""
    row = texts_for(event, kind)
    source = getattr(row, part, "") if row is not None else ""
    if not source:
        return Markup("") if html else ""
    text = render(source, values_for(event, participant, session, source))
    return markdown_lines(text) if html else plain(text)


def preview(event: Event, intro: str, signoff: str) -> dict[str, Markup]:
    """Both parts rendered with sample values, as the preview shows them."""
    values = sample_values()
    values["event_title"] = event.title
    upcoming = _next_session(event)
    if upcoming is not None:
        values["session_time"] = session_time(upcoming, event.timezone)
    return {"intro": markdown_lines(render(intro, values)), "signoff": markdown_lines(render(signoff, values))}


#: kind -> how the area that sends that mail builds it for one registration (bytes on the
#: wire), so the preview and the test send show the real mail, not a sketch of it. The
#: areas above register (subscriptions: welcome; events: reminder; calendars: session
#: update and cancellation; discussion: e-forum opening) when they are imported.
SampleBuilder = Callable[[Event, Subscription, Session | None], bytes]
_SAMPLES: dict[str, SampleBuilder] = {}


def register_sample(kind: str, builder: SampleBuilder) -> None:
    _SAMPLES[kind] = builder


@dataclass(frozen=True)
class RealMail:
    """One kind of mail as a sample registrant would get it with the officer's texts."""

    subject: str
    text: str  # the plain-text part, as the mail program shows it
    message: EmailMessage


SAMPLE_EMAIL = "jeannette.ho@example.org"


def real_mail(event: Event, kind: str, intro: str, signoff: str, name: str = "") -> RealMail | None:
    """The real mail of `kind`, built by its own area for a sample registration with the
    unsaved texts, inside a savepoint that is rolled back: nothing is stored and nothing is
    queued. None when no area builds that kind, or a session mail has no session to be about."""
    builder = _SAMPLES.get(kind)
    session = _next_session(event)
    if builder is None or (session is None and kind != "welcome" and kind != "forum_open"):
        return None
    savepoint = db.session.begin_nested()
    try:
        save(event, kind, intro, signoff)
        taken = db.session.scalar(select(Participant.id).where(Participant.email_key == SAMPLE_EMAIL))
        email = SAMPLE_EMAIL if taken is None else f"sample-{secrets.token_hex(4)}@example.org"
        person = Participant(email=email, email_key=email, name=name or sample_values()["name"])
        sample = Subscription(participant=person, event=event, status="active", mode="each", confirmed_at=clock.now())
        db.session.add(sample)
        db.session.flush()
        raw = builder(event, sample, session)
    finally:
        savepoint.rollback()
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    return RealMail(str(message.get("Subject", "")), text, message)


def send_test(event: Event, kind: str, intro: str, signoff: str, email: str, name: str = "") -> None:
    """Queue the real mail with the texts, as a participant called `name` gets it, to the
    officer (its personal links belong to a sample registration that was never stored)."""
    mail = real_mail(event, kind, intro, signoff, name)
    if mail is not None:
        message = mail.message
        for header in ("To", "Subject"):
            del message[header]
        message["To"] = email
        message["Subject"] = f"Test: {mail.subject}"
    else:
        message = _texts_only(event, kind, intro, signoff, email, name)
    stamp = f"{clock.now().isoformat()}:{secrets.token_hex(4)}"  # every test send is its own mail
    enqueue(
        message,
        kind="mail-text-test",
        key=f"mail-text-test:{event.id}:{kind}:{email}:{stamp}",
        event_id=event.id,
    )


def _texts_only(event: Event, kind: str, intro: str, signoff: str, email: str, name: str) -> EmailMessage:
    """The texts alone, for a mail about a session when the event has none yet."""
    values = sample_values()
    values.update(name=name or values["name"], event_title=event.title)
    rendered: dict[str, str] = {}
    for part, source in (("intro", intro), ("signoff", signoff)):
        text = render(source, values)
        rendered[part], rendered[f"{part}_html"] = plain(text), markdown_lines(text)
    return build_message(
        to=email,
        subject=f"[{event.title}] Test: your text for the {KINDS[kind].lower()} mail",
        template="mail_text_test",
        context={"event": event, "kind_label": KINDS[kind], **rendered},
    )
