"""The scheduled link check: does each external resource's URL still answer?

A pathway step that points at a page answering 404 (or a server that is gone) is a dead
end for a learner; the gaps report lists such steps. The check asks with HEAD, falls back
to GET where a server refuses HEAD, follows redirects, and records the final status (or
the network error) on the resource. Nothing here sends mail.

The requests run in a small thread pool with a short timeout, and touch no database:
on SQLite the scheduler has one worker, so a slow check must not hold up the outbox for
long.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import select

from forum.common.jobs import JobReport, register_job
from forum.core import clock
from forum.core.extensions import db
from forum.models.pathways import EXTERNAL_KINDS, Resource

TIMEOUT_SECONDS = 8
WORKERS = 8
USER_AGENT = "Mozilla/5.0 (compatible; Forum link check)"


def probe(url: str, timeout: float = TIMEOUT_SECONDS) -> tuple[int | None, str]:
    """(HTTP status, error text): the status for any answer, None and a reason for no answer."""
    if not url.lower().startswith(("http://", "https://")):
        return None, "not a web address"
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            url, method=method, headers={"User-Agent": USER_AGENT, "Accept": "*/*"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return int(response.status), ""
        except urllib.error.HTTPError as exc:
            if method == "HEAD" and exc.code in (403, 405, 501):
                continue  # some servers refuse HEAD (or robots' HEAD): ask again with GET
            return int(exc.code), ""
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return None, f"no answer ({reason})"[:300]
    return None, "no answer"


def check_links(at: datetime | None = None, timeout: float = TIMEOUT_SECONDS) -> list[str]:
    """Check every external resource's URL once; returns a line per broken one."""
    at = at or clock.now()
    targets = db.session.execute(
        select(Resource.id, Resource.url).where(Resource.kind.in_(EXTERNAL_KINDS), Resource.url != "")
    ).all()
    db.session.commit()  # no transaction stays open while the network answers
    urls = sorted({url for _, url in targets})
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = dict(zip(urls, pool.map(lambda u: probe(u, timeout), urls), strict=True))
    lines = []
    for resource_id, url in targets:
        resource = db.session.get(Resource, resource_id)
        if resource is None or resource.url != url:  # deleted or changed meanwhile
            continue
        resource.link_status, resource.link_error = results[url]
        resource.link_checked_at = at
        if resource.link_broken:
            lines.append(f"link check: {url} {resource.link_status or resource.link_error}")
    db.session.commit()
    return lines


def link_check_job(at: datetime, report: JobReport, event: object = None) -> None:
    """The `link-check` job: a line per broken link, no mail."""
    for line in check_links(at):
        report.add(line)


register_job("link-check", "check the URLs of external pathway resources", link_check_job)
