"""What a certificate carries besides the person and the hours: the organisation's logo, the
CE provider's name and approval number, and who signs it.

A CE provider's auditor asks for the provider name and number on every certificate, and a
signature line naming the person responsible; officers set these once for the site (the
settings page, stored as `certificate_*` rows of `SiteSetting`, beside the branding) and may
override the wording for one event (columns of `CESettings`), e.g. an event co-sponsored by
another provider. The logo is uploaded, not linked: the PDF is drawn on the server, which
must not fetch addresses an officer typed, and a stored image draws the same every time.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass, replace

from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from forum.core.extensions import db
from forum.models import CESettings, Event, SiteSetting

PREFIX = "certificate_"
#: the wording an event may override (the logo stays the site's)
TEXT_FIELDS = ("provider_name", "provider_number", "signatory_name", "signatory_title")
MAX_LOGO_BYTES = 300 * 1024
LOGO_TYPES = {"PNG": "png", "JPEG": "jpeg"}


class LookError(ValueError):
    """A setting that cannot be used; the message is for the field it names."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CertificateLook:
    provider_name: str = ""
    provider_number: str = ""
    signatory_name: str = ""
    signatory_title: str = ""
    logo: bytes = b""  # PNG or JPEG, checked when uploaded

    @property
    def provider_line(self) -> str:
        """`Provider: Library Learning Network (approved provider no. 1234)`, or empty."""
        if self.provider_name and self.provider_number:
            return _(
                "Provider: %(name)s (approved provider no. %(number)s)",
                name=self.provider_name,
                number=self.provider_number,
            )
        if self.provider_name:
            return _("Provider: %(name)s", name=self.provider_name)
        if self.provider_number:
            return _("Approved provider no. %(number)s", number=self.provider_number)
        return ""


def site_look() -> CertificateLook:
    """The site's settings (empty where none is saved)."""
    rows = {
        row.key.removeprefix(PREFIX): row.value
        for row in db.session.scalars(select(SiteSetting).where(SiteSetting.key.startswith(PREFIX)))
    }
    values: dict[str, object] = {name: rows.get(name, "") for name in TEXT_FIELDS}
    try:
        values["logo"] = base64.b64decode(rows.get("logo", ""), validate=True)
    except (binascii.Error, ValueError):
        values["logo"] = b""  # a damaged row draws no logo rather than no certificate
    return CertificateLook(**values)  # type: ignore[arg-type]


def look_for(event: Event) -> CertificateLook:
    """The site's look with the event's own wording on top, where it has any."""
    look = site_look()
    settings = db.session.scalar(select(CESettings).where(CESettings.event_id == event.id))
    if settings is None:
        return look
    own = {name: getattr(settings, name) for name in TEXT_FIELDS if (getattr(settings, name) or "").strip()}
    return replace(look, **own)


def checked_logo(data: bytes) -> bytes:
    """The uploaded bytes when they are a PNG or JPEG image of a sensible size."""
    if len(data) > MAX_LOGO_BYTES:
        raise LookError(_("Use an image under %(kb)d KB.", kb=MAX_LOGO_BYTES // 1024), "logo")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise LookError(_("This file is not an image. Upload a PNG or JPEG file."), "logo") from None
    if kind not in LOGO_TYPES:
        raise LookError(_("Upload the logo as a PNG or JPEG file."), "logo")
    return data


def logo_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels (never 0), to draw the logo at its own proportions."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    return max(width, 1), max(height, 1)


def save_site(values: dict[str, str], logo: bytes | None = None, remove_logo: bool = False) -> CertificateLook:
    """Store the site's wording, and a new logo (checked) or its removal; the caller commits."""
    stored: dict[str, str] = {name: (values.get(name) or "").strip() for name in TEXT_FIELDS}
    if logo:
        stored["logo"] = base64.b64encode(checked_logo(logo)).decode("ascii")
    elif remove_logo:
        stored["logo"] = ""
    for name, value in stored.items():
        row = db.session.get(SiteSetting, PREFIX + name)
        if row is None:
            db.session.add(SiteSetting(key=PREFIX + name, value=value))
        else:
            row.value = value
    db.session.flush()
    return site_look()


def save_event(settings: CESettings, values: dict[str, str]) -> None:
    """Store one event's wording (empty: the site's)."""
    for name in TEXT_FIELDS:
        if name in values:
            setattr(settings, name, (values[name] or "").strip())
