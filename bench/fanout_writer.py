"""The fan-out writer's own CPU: one post step (`fan_out_chunk`) for N subscribers, timed
with the thread's CPU clock (no SMTP, no sender threads beside it), rolled back and repeated.

    .venv/bin/python bench/fanout_writer.py [--subscribers 3000] [--database-url postgresql://...]
    .venv/bin/python bench/fanout_writer.py --profile   # cProfile of the last repetition

bench/fanout.py measures the whole run; this one isolates what limits it (the writer holds
the GIL most of a run: see py-spy --gil in the commit that added this file).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import bench_app  # noqa: E402
from fanout import make_event, new_post  # noqa: E402

from forum.core.extensions import db  # noqa: E402
from forum.discussion import service as discussion  # noqa: E402
from forum.models import Post  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="PostgreSQL (a private schema); default SQLite")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    n = args.subscribers
    with bench_app(args.database_url, "fanout_writer") as app, app.app_context():
        post = new_post(make_event(n))
        post.status = "accepted"
        db.session.commit()
        post_id, times = post.id, []
        profile = cProfile.Profile() if args.profile else None
        for rep in range(args.repeat):
            db.session.remove()
            post = db.session.get(Post, post_id)
            if profile is not None and rep == args.repeat - 1:
                profile.enable()
            t0 = time.thread_time()
            count, _ = discussion.fan_out_chunk(post, 0, n)
            times.append(time.thread_time() - t0)
            if profile is not None:
                profile.disable()
            db.session.rollback()
            if count != n:
                raise SystemExit(f"wrote {count} copies, not {n}")
        runs = " ".join(f"{1e6 * t / n:.0f}" for t in times)
        print(f"writer CPU per 1,000 copies (ms): {runs}; best {1e6 * min(times) / n:.0f}")
        if profile is not None:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
