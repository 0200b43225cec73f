"""What areas register must be there in a web process too, not only in the scheduler's.

The test suite imports every module, so a registration made only by a module the web
process never imports looks fine here and is missing in production (it was: a mentoring
certificate's public check answered "not found" under gunicorn). A fresh interpreter
imports `wsgi` exactly as gunicorn does and reports what is registered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, {module}
from forum.ce import certificates
from forum.common import jobs
from forum.mail import texts
print(json.dumps({
    "finders": sorted(f.__module__ + "." + f.__name__ for f in certificates.FINDERS),
    "samples": sorted(texts._SAMPLES),
    "jobs": sorted(jobs.JOBS),
}))
"""


def test_the_web_process_has_every_registration_the_scheduler_has(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FORUM_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.db'}",
        "FORUM_INSTANCE_PATH": str(tmp_path),
    }
    def registered(module: str) -> dict[str, list[str]]:
        out = subprocess.run(
            [sys.executable, "-c", PROBE.replace("{module}", module)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    web, scheduler = registered("wsgi"), registered("forum.scheduling.jobs")
    assert "forum.mentoring.jobs.verify" in web["finders"]
    assert {"reminder", "forum_open", "welcome"} <= set(web["samples"])
    for kind, names in scheduler.items():  # the web process may hold more (web-only samples)
        assert set(names) <= set(web[kind]), kind
