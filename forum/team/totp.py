"""An optional second factor for password accounts: a time-based one-time code (TOTP, RFC 6238).

Enrolling is two steps so a mistyped secret never locks anyone out: `start` keeps a new
secret on the account (not yet required), `confirm` turns it on once the officer types a code
their app made from it, and hands back ten recovery codes, shown once and stored only as
hashes. From then on the password alone does not sign in: `check` takes a current code (each
time step once, so an overheard code cannot be replayed) or an unused recovery code (which is
then spent). Accounts signing in by the organisation's single sign-on rely on its own factors.
The doors (forum/web/team/totp.py, forum/web/site/auth.py) rate-limit the guesses.
"""

from __future__ import annotations

import hashlib
import secrets

import pyotp
from flask_babel import gettext as _

from forum.core import clock
from forum.models import Officer

ISSUER = "Forum"
RECOVERY_CODES = 10
#: Codes from one step either side are accepted (a phone's clock a little off).
WINDOW = 1
STEP = 30


class TotpError(ValueError):
    """A code or a state the rules refuse; the message says why, for every door."""


def _digest(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def _normal(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def start(officer: Officer) -> str:
    """A new secret for the officer's app (not required until `confirm`)."""
    if officer.has_second_factor:
        raise TotpError(_("A second factor is on already; turn it off first to enrol a new one."))
    officer.totp_secret = pyotp.random_base32()
    return officer.totp_secret


def provisioning_uri(officer: Officer, issuer: str = ISSUER) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(officer.totp_secret).provisioning_uri(name=officer.email, issuer_name=issuer)


def _step_of(officer: Officer, code: str) -> int | None:
    """The time step a code is good for (within WINDOW of now), or None."""
    code = _normal(code)
    if not officer.totp_secret or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(officer.totp_secret)
    now = int(clock.now().timestamp())
    here = now // STEP
    for offset in range(-WINDOW, WINDOW + 1):
        if secrets.compare_digest(totp.at(now, counter_offset=offset), code):
            return here + offset
    return None


def confirm(officer: Officer, code: str) -> list[str]:
    """Turn the factor on with a code from the new secret; the recovery codes, shown once."""
    if officer.has_second_factor:
        raise TotpError(_("A second factor is on already."))
    step = _step_of(officer, code)
    if step is None:
        raise TotpError(_("That code does not match. Check the time on your phone and type the newest code."))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    officer.totp_enabled_at = clock.now()
    officer.totp_last_step = step
    officer.totp_recovery = [_digest(c) for c in codes]
    return codes


def check(officer: Officer, code: str) -> str | None:
    """At sign-in: "code" or "recovery" when it lets the officer in (and spends it), else None."""
    if not officer.has_second_factor:
        return None
    step = _step_of(officer, code)
    if step is not None:
        if officer.totp_last_step is not None and step <= officer.totp_last_step:
            return None  # used already: wait for the next code
        officer.totp_last_step = step
        return "code"
    digest = _digest(code)
    left = list(officer.totp_recovery or [])
    for kept in left:
        if secrets.compare_digest(kept, digest):
            left.remove(kept)
            officer.totp_recovery = left
            return "recovery"
    return None


def disable(officer: Officer, code: str) -> None:
    """Turn the factor off, proving possession with a current or recovery code."""
    if not officer.has_second_factor:
        raise TotpError(_("No second factor is on."))
    if check(officer, code) is None:
        raise TotpError(_("That code does not match; type a current code or an unused recovery code."))
    reset(officer)


def reset(officer: Officer) -> None:
    """Forget the factor (also what an administrator does for an officer who lost their phone)."""
    officer.totp_secret = ""
    officer.totp_enabled_at = None
    officer.totp_last_step = None
    officer.totp_recovery = []


def recovery_left(officer: Officer) -> int:
    return len(officer.totp_recovery or [])
