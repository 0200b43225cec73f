"""The one guard: every officer page and every API route asks `roles.can` before its view runs.

`RULES` names, for each endpoint under /manage and /api/v1, the permission a read (GET) and
a change (any other method) need and what it is checked against: the event named by the
path's `slug` (`on="event"`), or the site (`on="site"`). An officer route with no rule is
refused (403), and `tests/test_team_roles.py` fails for it, so a new route cannot be left out.

API reads marked `public=True` also answer without a token (published things only); a token
whose officer lacks the read permission there is treated as no token (they see what the
public sees, not the drafts and join links an officer of that event sees). A read-only token
may not change anything. The guard also tells the audit log who is acting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import abort as api_abort
from werkzeug.wrappers import Response

from forum.core.extensions import db, login
from forum.models import Event, Officer
from forum.team import audit
from forum.team import roles as r
from forum.team import scopes as sc
from forum.web.events import api_common as api

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OFFICER_PREFIXES = ("/manage", "/api/v1")


@dataclass(frozen=True)
class Rule:
    read: str | None  # None: anyone (public API reads, public writes)
    write: str | None
    #: "event" (the path's slug names an event), "site", a registered scope's kind ("pathway":
    #: the slug names one; forum/team/scopes.py), or "object" (the path's `kind` names the scope)
    on: str = "event"
    public: bool = False  # API: a read anyone may make; a token only adds what its roles allow
    #: Also a signed-link door (a panelist moderator's link from a hold notice): someone not
    #: signed in is left to the view, which checks the link and refuses (403) without one.
    signed_link: bool = False
    #: Reads personal data in bulk (an export): the audit log gets a row naming who took it.
    audit_as: str = ""


def ev(read: str, write: str | None = None) -> Rule:
    return Rule(read, write or read, "event")


def site(read: str, write: str | None = None) -> Rule:
    return Rule(read, write or read, "site")


def public_read(officer_read: str, write: str, on: str = "event") -> Rule:
    return Rule(officer_read, write, on, public=True)


def prog(read: str, write: str | None = None) -> Rule:
    """A rule on the mentoring programme the path's slug names (forum/team/scopes.py)."""
    return Rule(read, write or read, "programme")


def pw(read: str, write: str | None = None) -> Rule:
    """A rule on the pathway the path's slug names (a pathway role, forum/team/scopes.py)."""
    return Rule(read, write or read, "pathway")


V, E = r.EVENT_VIEW, r.EVENT_EDIT
PV, PE = sc.OBJECT_VIEW, sc.OBJECT_EDIT
RULES: dict[str, Rule] = {
    # events, sessions, panelists (web)
    "manage.index": site(r.SIGNED_IN),
    "manage.new_event": site(r.EVENT_CREATE),
    "manage.edit_panelist": site(r.EVENT_CREATE),
    "manage.event": ev(V),
    "manage.preview": ev(V),
    "manage.edit_event": ev(E),
    "manage.publish": ev(E),
    "manage.cancel_event": ev(E),
    "manage.sessions": ev(V, E),
    "manage.edit_session": ev(E),
    "manage.cancel_session": ev(E),
    "manage.move_session": ev(E),
    "manage.add_days": ev(E),
    "manage.panelists": ev(V, E),
    "manage.panelist_link": ev(E),
    "manage.attach_panelist": ev(E),
    "manage.new_panelist": ev(E),
    "manage.topics": site(r.EVENT_CREATE),
    "manage.edit_topic": site(r.EVENT_CREATE),
    "manage.delete_topic": site(r.EVENT_CREATE),
    "setup.add_series": ev(E),
    "setup.duplicate": ev(E),
    "setup.delete_draft": ev(E),
    "announcements.index": ev(V, E),
    "announcements.edit": ev(V, E),
    "announcements.cancel": ev(E),
    "mail_texts.edit": ev(E),
    "webinars.recordings_page": ev(V, E),
    "captions.edit": ev(V, E),
    "webinars.delete_material": ev(E),
    "webinars.recordings_signup": ev(E),
    "webinars.seats_page": ev(r.REGISTRANTS_VIEW, E),
    "webinars.promote": ev(r.REGISTRANTS_EDIT),
    "webinars.remove": ev(r.REGISTRANTS_EDIT),
    # registrants
    "subscribers.index": ev(r.REGISTRANTS_VIEW),
    "subscribers.export": Rule(
        r.REGISTRANTS_VIEW, r.REGISTRANTS_VIEW, "event", audit_as="registrants.exported"
    ),
    "subscribers.change_mode": ev(r.REGISTRANTS_EDIT),
    "subscribers.reenable": ev(r.REGISTRANTS_EDIT),
    "subscribers.remove": ev(r.REGISTRANTS_EDIT),
    "subscribers.import_csv": ev(r.REGISTRANTS_EDIT),
    # moderation
    "discussion.moderation": Rule(r.MODERATE, r.MODERATE, "event", signed_link=True),
    "discussion.moderate": Rule(r.MODERATE, r.MODERATE, "event", signed_link=True),
    "discussion.moderate_bulk": Rule(r.MODERATE, r.MODERATE, "event", signed_link=True),
    # continuing education
    "attendance.index": ev(r.CE_VIEW),
    "attendance.export": Rule(r.CE_VIEW, r.CE_VIEW, "event", audit_as="attendance.exported"),
    "attendance.import_report": ev(r.CE_EDIT),
    "attendance.mark": ev(r.CE_EDIT),
    "attendance.save_rule": ev(r.CE_EDIT),
    "attendance.session_hours": ev(r.CE_EDIT),
    "attendance.certificate": ev(r.CE_EDIT),  # issues or reissues: a change, not a read
    "attendance.revoke_certificate": ev(r.CE_EDIT),
    "evaluations.manage": ev(r.EVALUATION_EDIT),
    "evaluations.create": ev(r.EVALUATION_EDIT),
    "evaluations.add_question": ev(r.EVALUATION_EDIT),
    "evaluations.edit_question": ev(r.EVALUATION_EDIT),
    "evaluations.remove_question": ev(r.EVALUATION_EDIT),
    "evaluations.move_question": ev(r.EVALUATION_EDIT),
    "evaluations.settings": ev(r.EVALUATION_EDIT),
    "evaluations.results": ev(r.CE_VIEW),
    "evaluations.results_csv": Rule(r.CE_VIEW, r.CE_VIEW, "event", audit_as="evaluation.exported"),
    # registration questions, answers, approvals (forum/web/registration)
    "registration.questions": ev(V, E),
    "registration.edit_question": ev(E),
    "registration.question_action": ev(E),
    "registration.add_from_preset": ev(E),
    "registration.approval_setting": ev(E),
    "registration.presets": site(r.EVENT_CREATE),
    "registration.edit_preset": site(r.EVENT_CREATE),
    "registration.delete_preset": site(r.EVENT_CREATE),
    "approvals.answers": ev(r.REGISTRANTS_VIEW),
    "approvals.approvals": ev(r.REGISTRANTS_VIEW, r.REGISTRANTS_EDIT),
    "api_registration.list_questions": public_read(V, E),
    "api_registration.create_question": ev(E),
    "api_registration.update_question": ev(E),
    "api_registration.delete_question": ev(E),
    "api_registration.list_registrations": ev(r.REGISTRANTS_VIEW),
    "api_registration.decide": ev(r.REGISTRANTS_EDIT),
    # the team (forum/web/team)
    "team.index": ev(r.ROLES_MANAGE),
    "team.revoke": ev(r.ROLES_MANAGE),
    "audit.index": ev(r.AUDIT_VIEW),
    "audit.site": site(r.SITE_ADMIN),
    "audit_api.api_index": ev(r.AUDIT_VIEW),
    "webhooks.index": ev(r.WEBHOOKS_MANAGE),
    "webhooks.endpoint": ev(r.WEBHOOKS_MANAGE),
    "webhooks.remove": ev(r.WEBHOOKS_MANAGE),
    "webhooks.site_index": site(r.SITE_ADMIN),
    "webhooks.site_endpoint": site(r.SITE_ADMIN),
    "webhooks.site_remove": site(r.SITE_ADMIN),
    # site-wide
    "branding.settings": site(r.SITE_ADMIN),
    "certificate_settings.edit": site(r.SITE_ADMIN),
    "accessibility.edit": site(r.SITE_ADMIN),
    "officers.index": site(r.SITE_ADMIN),
    "officers.deactivate": site(r.SITE_ADMIN),
    "officers.reactivate": site(r.SITE_ADMIN),
    "officers.revoke": site(r.SITE_ADMIN),
    # mentoring programmes (forum/web/mentoring): site-wide, like pathways
    "mentoring_manage.index": Rule(r.SIGNED_IN, r.EVENT_CREATE, "site"),  # lists the programmes the officer holds a role on
    "mentoring_manage.members": site(r.SITE_ADMIN),
    "mentoring_manage.programme": prog(PV, PE),
    "mentoring_manage.cycle": prog(PV, PE),
    "mentoring_manage.overview_csv": prog(PV),
    "mentoring_manage.matching_page": prog(PV, PE),
    "mentoring_manage.end_match": prog(PE),
    "mentoring_manage.mail": prog(PE),
    "mentoring_manage.invite_story": prog(PE),
    "mentoring_manage.add_question": prog(PE),
    "mentoring_manage.evaluation_results": prog(PV),
    "mentoring_manage.change_question": prog(PE),
    "mentoring_manage.edit_question": prog(PE),
    "api_mentoring.change_question": site(r.SITE_ADMIN),
    "api_mentoring.update_question": site(r.SITE_ADMIN),
    "api_mentoring.evaluation_results": site(r.SITE_ADMIN),
    "api_mentoring.list_stories": site(r.SITE_ADMIN),
    "api_mentoring.invite_story": site(r.SITE_ADMIN),
    "api_mentoring.add_question": site(r.SITE_ADMIN),
    "api_mentoring.list_programmes": public_read(r.SITE_ADMIN, r.SITE_ADMIN, "site"),
    "api_mentoring.get_programme": public_read(r.SITE_ADMIN, r.SITE_ADMIN, "site"),
    "api_mentoring.create_programme": public_read(r.SITE_ADMIN, r.SITE_ADMIN, "site"),
    "api_mentoring.create_cycle": site(r.SITE_ADMIN),
    "api_mentoring.list_applications": site(r.SITE_ADMIN),
    "api_mentoring.suggestions": site(r.SITE_ADMIN),
    "api_mentoring.set_weights": site(r.SITE_ADMIN),
    "api_mentoring.confirm_matches": site(r.SITE_ADMIN),
    "api_mentoring.end_match": site(r.SITE_ADMIN),
    "api_mentoring.import_members": site(r.SITE_ADMIN),
    "api_mentoring.overview": site(r.SITE_ADMIN),
    "api_mentoring.send_mail": site(r.SITE_ADMIN),
    "officers.reset_second_factor": site(r.SITE_ADMIN),
    "two_factor.index": site(r.SIGNED_IN),  # each officer's own account
    "two_factor.confirm": site(r.SIGNED_IN),
    "two_factor.disable": site(r.SIGNED_IN),
    "team.object_team": Rule(sc.OBJECT_ROLES_MANAGE, sc.OBJECT_ROLES_MANAGE, "object"),
    "team.object_revoke": Rule(sc.OBJECT_ROLES_MANAGE, sc.OBJECT_ROLES_MANAGE, "object"),
    # pathways: each one by its roles; the shared library (resources, needs, gaps) site-wide
    "pathways_manage.index": site(r.SIGNED_IN),
    "pathways_manage.new_pathway": site(r.EVENT_CREATE),
    "pathways_manage.pathway": pw(PV, PE),
    "pathways_manage.status": pw(PE),
    "pathways_manage.edit_pathway": pw(PE),
    "pathways_manage.edit_step": pw(PE),
    "pathways_manage.step_action": pw(PE),
    "pathways_manage.gaps": site(r.SITE_ADMIN),
    "pathways_manage.needs": site(r.SITE_ADMIN),
    "pathways_manage.edit_need": site(r.SITE_ADMIN),
    "pathways_manage.delete_need": site(r.SITE_ADMIN),
    "pathways_manage.resources": site(r.SITE_ADMIN),
    "pathways_manage.edit_resource": site(r.SITE_ADMIN),
    "pathways_manage.delete_resource": site(r.SITE_ADMIN),
    "pathways_manage.import_resources": site(r.SITE_ADMIN),
    # JSON API
    "api.list_events": public_read(r.SIGNED_IN, r.EVENT_CREATE, "site"),
    "api.create_event": public_read(r.SIGNED_IN, r.EVENT_CREATE, "site"),
    "api.get_event": public_read(V, E),
    "api.update_event": ev(E),
    "api.cancel_event": ev(E),
    "api.publish_event": ev(E),
    "api.link_panelist": ev(E),
    "api.unlink_panelist": ev(E),
    "api.create_session": ev(E),
    "api.update_session": ev(E),
    "api.cancel_session": ev(E),
    "api.subscribe": Rule(None, None, "event", public=True),
    # a participant's own choices: the preferences token in the path is the permission
    "api_preferences.list_deliveries": Rule(None, None, "site", public=True),
    "api_preferences.update_delivery": Rule(None, None, "site", public=True),
    "api_preferences.choose_thread": Rule(None, None, "site", public=True),
    "api.create_panelist": site(r.EVENT_CREATE),
    "api.get_panelist": public_read(r.SIGNED_IN, r.EVENT_CREATE, "site"),
    "api.update_panelist": site(r.EVENT_CREATE),
    "ce_api.get_attendance": ev(r.CE_VIEW),
    "ce_api.get_evaluation_results": ev(r.CE_VIEW),
    "api_pathways.list_pathways": public_read(r.SIGNED_IN, r.EVENT_CREATE, "site"),
    "api_pathways.create_pathway": public_read(r.SIGNED_IN, r.EVENT_CREATE, "site"),
    "api_pathways.get_pathway": public_read(PV, PE, "pathway"),
    "api_pathways.publish_pathway": pw(PE),
    "api_pathways.add_step": pw(PE),
    "api_pathways.list_needs": public_read(r.SITE_ADMIN, r.SITE_ADMIN, "site"),
    "api_pathways.create_need": public_read(r.SITE_ADMIN, r.SITE_ADMIN, "site"),
    "api_pathways.list_resources": public_read(r.SITE_ADMIN, r.SITE_ADMIN, "site"),
    "api_pathways.create_resource": public_read(r.SITE_ADMIN, r.SITE_ADMIN, "site"),
}

EXTRA_RULES: dict[str, Rule] = {}  # areas' own rules (forum/web/team's pages add theirs here)


def rule_for(endpoint: str | None) -> Rule | None:
    if endpoint is None:
        return None
    return RULES.get(endpoint) or EXTRA_RULES.get(endpoint)


def is_officer_path(path: str) -> bool:
    return path.startswith(OFFICER_PREFIXES)


def _api() -> bool:
    return request.path.startswith("/api/")


def _forbidden(message: str) -> None:
    if _api():
        api_abort(403, message=message)
    abort(403, description=message)


def _web_officer() -> Officer | None:
    return current_user._get_current_object() if current_user.is_authenticated else None  # type: ignore[no-any-return]


def check() -> Response | None:
    """Before every request: refuse what the acting officer's roles do not allow."""
    if not is_officer_path(request.path) or request.url_rule is None:
        return None
    rule = rule_for(request.endpoint)
    if rule is None:
        _forbidden(_("No permission rule covers this page yet, so nobody may use it."))
        return None
    writing = request.method not in SAFE_METHODS
    permission = rule.write if writing else rule.read
    if permission is None:
        return None
    if _api():
        if rule.public and not writing:
            officer = api.token_officer()
            if officer is None:
                return None
        else:
            officer = api.require_officer()
        token = api.current_token()
        via = "api"
        if writing and token is not None and token.read_only:
            _forbidden(_("This API token is read-only."))
    else:
        officer = _web_officer()
        if officer is None and rule.signed_link:
            return None
        if officer is None:
            return login.unauthorized()  # type: ignore[no-any-return]
        via = "web"
    audit.acting(officer, via=via, token=api.current_token() if via == "api" else None)
    event = _event() if rule.on == "event" else None
    target = event if rule.on == "event" else _scoped(rule.on) if rule.on != "site" else None
    if rule.on != "site" and target is None:
        return None  # the view answers 404 with its own words
    if _allowed(officer, permission, rule, target):
        if rule.audit_as and event is not None:
            audit.record(rule.audit_as, event_id=event.id, summary=event.title)
            db.session.commit()
        return None
    if _api() and rule.public and not writing:
        api.forget_officer()  # seen as the public sees it
        return None
    if target is not None:
        _forbidden(_("Your role does not allow this on “%(title)s”.", title=target.title))
    _forbidden(_("Your role does not allow this on this site."))
    return None


def _event() -> Event | None:
    slug = (request.view_args or {}).get("slug")
    return Event.by_slug(slug) if isinstance(slug, str) else None


def _scoped(on: str) -> Any | None:
    """The object of a registered scope the path names (None: the view answers 404)."""
    args = request.view_args or {}
    kind = args.get("kind") if on == "object" else on
    scope = sc.SCOPES.get(kind) if isinstance(kind, str) else None
    slug = args.get("slug")
    return scope.find(slug) if scope is not None and isinstance(slug, str) else None


def _allowed(officer: Officer | None, permission: str, rule: Rule, target: Any) -> bool:
    if rule.on in ("event", "site") or permission in (r.SIGNED_IN, r.EVENT_CREATE):
        return r.can(officer, permission, target if rule.on == "event" else None)
    return sc.can_on(officer, permission, target)


def may(endpoint: str, target: Any = None) -> bool:
    """For templates: whether the signed-in officer may open this page (tabs, links); `target`
    is the event, or the object of the rule's scope (a pathway)."""
    rule = rule_for(endpoint)
    officer = _web_officer()
    if rule is None or officer is None:
        return False
    return rule.read is None or _allowed(officer, rule.read, rule, target)


def init_app(app: Flask) -> None:
    app.before_request(check)
    app.add_template_global(may)
