"""Captions and transcripts of session materials, and whether the recording mail waits for them.

A recording without captions shuts out deaf and hard-of-hearing registrants, and one
without a transcript those who read faster than they listen or search what was said. So
each material may carry captions — a link to the video host's track, or a WebVTT file we
keep and serve — and a transcript we serve as a page. The officer may also say "send when
captions are ready": the "recording available" mail (forum/webinars/recordings.py) then
waits until captions are added, and is sent once; without that, it goes at once and says
captions are not available yet.

Files of a registrants-only material are served under the material's own stable signed
key: the same for every reader, so the shared mail body of a fan-out stays shared, and no
more secret than the recording link the same mail already carries. Public materials'
files are open, like the public event page that lists them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_babel import gettext as _

from forum.core.tokens import TokenError, make_stable_token, read_stable_token
from forum.core.urls import external_url
from forum.models import Material

KEY_PURPOSE = "material-files"
MAX_VTT_BYTES = 512 * 1024
MAX_TRANSCRIPT_CHARS = 200_000


class CaptionsError(ValueError):
    """Input an officer can fix; `field` names the form field."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def read_vtt(data: bytes) -> str:
    """The text of an uploaded WebVTT file, or CaptionsError saying what is wrong with it.

    Checked as players check it (the "WEBVTT" signature, at least one cue timing line),
    because a file a player silently ignores is worse than a refusal the officer sees.
    """
    if len(data) > MAX_VTT_BYTES:
        raise CaptionsError(
            _("The captions file is larger than %(kib)d KiB.", kib=MAX_VTT_BYTES // 1024), "captions_file"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaptionsError(_("The captions file is not UTF-8 text."), "captions_file") from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = text.split("\n", 1)[0]
    if not (first == "WEBVTT" or first.startswith(("WEBVTT ", "WEBVTT\t"))):
        raise CaptionsError(
            _("That is not a WebVTT file: its first line must be WEBVTT (convert .srt files first)."),
            "captions_file",
        )
    if "-->" not in text or "\x00" in text:
        raise CaptionsError(_("The captions file has no cues (lines such as 00:00.000 --> 00:04.000)."), "captions_file")
    return text


def set_captions(
    material: Material,
    *,
    captions_url: str = "",
    captions_file: bytes | None = None,
    transcript: str | None = None,
    remove_captions: bool = False,
) -> None:
    """Add or replace a material's captions and transcript (the caller commits).

    A new file replaces the link and a new link the file: one caption track per material.
    Adding captions is what releases a held "recording available" mail (the job sees it).
    """
    url = (captions_url or "").strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
            raise CaptionsError(_("Give the captions' full web address, starting with https://."), "captions_url")
    vtt = read_vtt(captions_file) if captions_file else None
    if transcript is not None and len(transcript) > MAX_TRANSCRIPT_CHARS:
        raise CaptionsError(
            _("The transcript is longer than %(n)d characters.", n=MAX_TRANSCRIPT_CHARS), "transcript"
        )
    if remove_captions:
        material.captions_url, material.captions_vtt = "", ""
    if vtt is not None:
        material.captions_vtt, material.captions_url = vtt, ""
    elif url:
        material.captions_url, material.captions_vtt = url, ""
    if transcript is not None:
        material.transcript = transcript.strip()


def file_key(material: Material) -> str:
    return make_stable_token(KEY_PURPOSE, material.id)


def may_read(material: Material, key: str | None) -> bool:
    """Public materials' files are open; the others need the material's key."""
    if material.public:
        return True
    try:
        return bool(key) and read_stable_token(KEY_PURPOSE, key or "") == material.id
    except TokenError:
        return False


def _file_url(endpoint: str, material: Material) -> str:
    values: dict[str, object] = {"slug": material.session.event.slug, "material_id": material.id}
    if not material.public:
        values["t"] = file_key(material)
    return external_url(endpoint, **values)


def captions_href(material: Material) -> str | None:
    """Where the captions are: the officer's link, our copy of their file, or None."""
    if material.captions_url:
        return material.captions_url
    if material.captions_vtt:
        return _file_url("captions.captions_file", material)
    return None


def transcript_href(material: Material) -> str | None:
    return _file_url("captions.transcript_page", material) if material.transcript else None
