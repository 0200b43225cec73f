"""The scheduled link check: does each external resource's URL still answer?

A pathway step that points at a page answering 404 (or a server that is gone) is a dead
end for a learner; the gaps report lists such steps. The check asks with HEAD, falls back
to GET where a server refuses HEAD, follows redirects, and records the final status (or
why there is none) on the resource. Nothing here sends mail.

Every request goes through `forum.core.outbound`, the guarded client: an officer-typed URL
must not reach loopback, private or metadata addresses, each URL has one wall-clock deadline,
and a server that answers with something that is not HTTP is recorded as such instead of
stopping the check. The requests run in a small thread pool and touch no database: on
SQLite the scheduler has one worker, so a slow check must not hold up the outbox for long.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from forum.common.jobs import register_job, reporting
from forum.core import clock, outbound
from forum.core.extensions import db
from forum.models.pathways import EXTERNAL_KINDS, Resource

TIMEOUT_SECONDS = 8
WORKERS = 8


def probe(
    url: str, timeout: float = TIMEOUT_SECONDS, policy: outbound.Policy | None = None
) -> tuple[int | None, str]:
    """(HTTP status, error word): the status for any answer, None and a fixed reason for no answer."""
    result = outbound.fetch(url, method="HEAD", head_fallback=True, deadline_seconds=timeout, policy=policy)
    return result.status, result.error


def check_links(at: datetime | None = None, timeout: float = TIMEOUT_SECONDS) -> list[str]:
    """Check every external resource's URL once; returns a line per broken one."""
    at = at or clock.now()
    policy = outbound.Policy.from_config(current_app.config)
    targets = db.session.execute(
        select(Resource.id, Resource.url).where(Resource.kind.in_(EXTERNAL_KINDS), Resource.url != "")
    ).all()
    db.session.commit()  # no transaction stays open while the network answers
    urls = sorted({url for _, url in targets})
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = dict(zip(urls, pool.map(lambda u: probe(u, timeout, policy), urls), strict=True))
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


#: a line per broken link, no mail
register_job("link-check", "check the URLs of external pathway resources", reporting(check_links))
