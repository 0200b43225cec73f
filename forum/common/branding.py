"""The organisation's own name and look: what every page header, footer and mail says.

Each setting has an environment default (`ORG_NAME`, `BRAND_COLOUR`, ...) that an officer
may override on /manage/settings (stored in `SiteSetting`). The brand colour is checked
against WCAG AA (4.5:1) on every background the stylesheet puts it on, because links,
primary buttons and the page header all use it; a colour that fails is refused with a
darker shade of the same hue offered instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields, replace

from flask import current_app, g, has_app_context
from sqlalchemy import select

from forum.common import signals
from forum.core.extensions import db
from forum.models import SiteSetting

#: setting name -> environment variable that gives its default
ENV_DEFAULTS = {
    "org_name": "ORG_NAME",
    "short_name": "ORG_SHORT_NAME",
    "logo_url": "ORG_LOGO_URL",
    "brand_colour": "BRAND_COLOUR",
    "footer_text": "ORG_FOOTER",
    "postal_address": "ORG_ADDRESS",
    "mail_from_name": "MAIL_FROM_NAME",
}
HEX_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
WHITE = "#ffffff"
#: the light backgrounds forum.css sets brand-coloured text on (paper, page wash, accent wash)
PAGE_WASH = "#f4f6f8"
AA_NORMAL = 4.5


@dataclass(frozen=True)
class Branding:
    org_name: str = "Forum"
    short_name: str = ""
    logo_url: str = ""
    brand_colour: str = ""
    footer_text: str = ""
    postal_address: str = ""
    mail_from_name: str = ""

    @property
    def name(self) -> str:
        """The short name where one is set (page titles, the header), else the full name."""
        return self.short_name or self.org_name or "Forum"

    @property
    def sender_name(self) -> str:
        """The display name on mail's From header."""
        return self.mail_from_name or self.name

    @property
    def stylesheet(self) -> str:
        """CSS custom properties for the brand colour (empty when the default look is kept)."""
        if not self.brand_colour:
            return ""
        colour = self.brand_colour.lower()
        return (
            ":root {\n"
            f"  --brand: {colour};\n"
            f"  --brand-dark: {mix(colour, '#000000', 0.25)};\n"
            f"  --accent-wash: {accent_wash(colour)};\n"
            "}\n"
        )

    @property
    def stylesheet_version(self) -> str:
        return hashlib.sha256(self.stylesheet.encode()).hexdigest()[:12]


def defaults() -> Branding:
    """The branding the environment gives (config), before any officer override."""
    config = current_app.config
    values = {name: str(config.get(env, "") or "").strip() for name, env in ENV_DEFAULTS.items()}
    values["org_name"] = values["org_name"] or "Forum"
    colour = values["brand_colour"]
    if colour and (not HEX_RE.match(colour) or colour_problem(colour)):
        # A deployment setting cannot be refused with a field error: keep the hue, meet AA.
        values["brand_colour"] = accessible_shade(colour) if HEX_RE.match(colour) else ""
    return Branding(**values)


def current() -> Branding:
    """Environment defaults with the officer's saved settings on top (cached per request)."""
    if has_app_context() and "forum_branding" in g:
        return g.forum_branding  # type: ignore[no-any-return]
    brand = defaults()
    saved = {row.key: row.value for row in db.session.scalars(select(SiteSetting))}
    known = {f.name for f in fields(Branding)}
    brand = replace(brand, **{k: v for k, v in saved.items() if k in known and v != ""})
    if has_app_context():
        g.forum_branding = brand
    return brand


def save(values: dict[str, str]) -> Branding:
    """Store the officer's settings (an empty value falls back to the environment default).

    Raises ValueError with a readable message for a colour that fails AA contrast.
    """
    colour = (values.get("brand_colour") or "").strip()
    if colour:
        problem = colour_problem(colour)
        if problem:
            raise ValueError(problem)
    before = current()
    for name in (f.name for f in fields(Branding)):
        if name not in values:
            continue
        SiteSetting.put(name, (values[name] or "").strip())
    db.session.flush()
    g.pop("forum_branding", None)
    after = current()
    changed = {
        f.name: [getattr(before, f.name), getattr(after, f.name)]
        for f in fields(Branding)
        if getattr(before, f.name) != getattr(after, f.name)
    }
    if changed:  # one audit entry for the save, whatever it changed (forum.team listens)
        signals.officer_action.send("branding", action="settings.changed", summary="branding", changes=changed)
    return current()


# --- colour maths (WCAG 2.x relative luminance and contrast ratio) ----------------------


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g_, b = (channel(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g_ + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio, 1.0 to 21.0."""
    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def mix(colour: str, other: str, amount: float) -> str:
    """`colour` moved `amount` (0-1) of the way towards `other`."""
    a, b = _rgb(colour), _rgb(other)
    return _hex(tuple(x + (y - x) * amount for x, y in zip(a, b, strict=True)))  # type: ignore[arg-type]


def accent_wash(colour: str) -> str:
    """The pale tint of the brand colour used behind flashes and hovered buttons."""
    return mix(colour, WHITE, 0.9)


def worst_contrast(colour: str) -> float:
    """The lowest ratio of the colour against the backgrounds it is used on (as text or
    under white text)."""
    return min(contrast_ratio(colour, bg) for bg in (WHITE, PAGE_WASH, accent_wash(colour)))


def accessible_shade(colour: str) -> str:
    """The lightest darkening of `colour` that meets AA on every background."""
    for step in range(0, 101):
        candidate = mix(colour, "#000000", step / 100)
        if worst_contrast(candidate) >= AA_NORMAL:
            return candidate
    return "#000000"


def colour_problem(colour: str) -> str | None:
    """None for a usable brand colour, else a sentence for the officer."""
    if not HEX_RE.match(colour or ""):
        return "Enter the colour as # and six hex digits, e.g. #0b5394."
    ratio = worst_contrast(colour)
    if ratio >= AA_NORMAL:
        return None
    return (
        f"{colour} has a contrast of only {ratio:.1f}:1 against white and the page background "
        f"(links and buttons need {AA_NORMAL}:1 to be readable). "
        f"The same hue darkened, {accessible_shade(colour)}, meets it."
    )
