"""The scheduled link check: does each external resource's URL still answer?

A pathway step that points at a page answering 404 (or a server that is gone) is a dead
end for a learner; the gaps report lists such steps. The check asks with HEAD, falls back
to GET where a server refuses HEAD, follows redirects, and records the final status (or
the network error) on the resource. Nothing here sends mail.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime

from sqlalchemy import select

from . import clock
from .extensions import db
from .models.pathways import EXTERNAL_KINDS, Resource

TIMEOUT_SECONDS = 10
USER_AGENT = "Forum link check (+https://github.com/forum)"


def probe(url: str, timeout: float = TIMEOUT_SECONDS) -> tuple[int | None, str]:
    """(HTTP status, error text): the status for any answer, None and a reason for no answer."""
    if not url.lower().startswith(("http://", "https://")):
        return None, "not a web address"
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
                return int(response.status), ""
        except urllib.error.HTTPError as exc:
            if method == "HEAD" and exc.code in (405, 501):
                continue  # this server does not do HEAD: ask again with GET
            return int(exc.code), ""
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return None, f"no answer ({reason})"[:300]
    return None, "no answer"


def check_links(at: datetime | None = None, timeout: float = TIMEOUT_SECONDS) -> list[str]:
    """Check every external resource's URL once, committing each result as it comes."""
    at = at or clock.now()
    lines = []
    ids = list(
        db.session.scalars(select(Resource.id).where(Resource.kind.in_(EXTERNAL_KINDS), Resource.url != ""))
    )
    for resource_id in ids:
        resource = db.session.get(Resource, resource_id)
        if resource is None:
            continue
        status, error = probe(resource.url, timeout)
        resource.link_status, resource.link_error, resource.link_checked_at = status, error, at
        db.session.commit()
        if resource.link_broken:
            lines.append(f"link check: {resource.url} {status or error}")
    return lines
