"""How a subscriber gets an e-forum's mail: the delivery mode and, for digest readers, the
digest's rhythm, style, hour and weekday. One rule for every door (the preferences page,
the JSON API); `forum.discussion.digest_schedules` turns the choices into send times.

The hour is in the reader's own zone (`Participant.timezone`; the forum's zone when they
have none); no hour means the forum's digest hour in the forum's zone for a daily digest
(what every reader had before they could choose).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from forum.core import clock
from forum.models import DIGEST_RHYTHMS, DIGEST_STYLES, WEEKDAYS, Subscription
from forum.subscriptions.service import SubscriptionError, check_mode, set_mode

#: The fields `set_delivery` takes, in the order the doors show them.
DELIVERY_FIELDS = ("mode", "digest_rhythm", "digest_style", "digest_hour", "digest_weekday")


def delivery_of(subscription: Subscription) -> dict[str, Any]:
    """The subscription's delivery choices, as both doors show them."""
    return {name: getattr(subscription, name) for name in DELIVERY_FIELDS}


def set_delivery(subscription: Subscription, **changes: Any) -> None:
    """Apply the given delivery choices (absent ones stay); SubscriptionError names the field.

    Checked all together before anything changes, so a bad hour leaves the mode as it was.
    """
    unknown = set(changes) - set(DELIVERY_FIELDS)
    if unknown:
        raise SubscriptionError(_("Unknown delivery setting: %(names)s.", names=', '.join(sorted(unknown))), field=sorted(unknown)[0])
    checked: dict[str, Any] = {}
    if "mode" in changes:
        checked["mode"] = check_mode(changes["mode"])
    if "digest_rhythm" in changes:
        if changes["digest_rhythm"] not in DIGEST_RHYTHMS:
            raise SubscriptionError(_("Choose a daily or a weekly digest."), field="digest_rhythm")
        checked["digest_rhythm"] = changes["digest_rhythm"]
    if "digest_style" in changes:
        if changes["digest_style"] not in DIGEST_STYLES:
            raise SubscriptionError(_("Choose every message in full, or subjects only."), field="digest_style")
        checked["digest_style"] = changes["digest_style"]
    if "digest_hour" in changes:
        hour = changes["digest_hour"]
        if hour is not None and (isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23):
            raise SubscriptionError(_("Use an hour from 0 to 23, or none for the e-forum's own hour."), field="digest_hour")
        checked["digest_hour"] = hour
    if "digest_weekday" in changes:
        day = changes["digest_weekday"]
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day < len(WEEKDAYS):
            raise SubscriptionError(_("Use a weekday from 0 (Monday) to 6 (Sunday)."), field="digest_weekday")
        checked["digest_weekday"] = day
    when = [name for name in ("digest_rhythm", "digest_hour", "digest_weekday") if name in checked]
    if any(getattr(subscription, name) != checked[name] for name in when) and subscription.id is not None:
        subscription.digest_chosen_at = clock.now()
    for name, value in checked.items():
        if name == "mode":
            set_mode(subscription, value)
        else:
            setattr(subscription, name, value)
