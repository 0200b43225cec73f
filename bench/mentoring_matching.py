"""Benchmark: suggesting mentoring pairs for 300 mentees and 120 mentors.

The matching page asks `forum.mentoring.matching.assign` for the best assignment of mentees
to mentors' places (1-3 each, about 240 places), scored on six weighted criteria. What is
timed, separately: scoring every (mentee, mentor) pair (36,000 pure-Python `value_of` calls,
the bulk of the work), the assignment itself (scipy's `linear_sum_assignment` on a
300 x ~240 matrix), and writing the words of each kept pair's reasons. Median of 5 runs.

    .venv/bin/python bench/mentoring_matching.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402

from forum.mentoring.matching import Candidate, assign, score, value_of  # noqa: E402
from forum.models.mentoring import DEFAULT_WEIGHTS  # noqa: E402

MENTEES, MENTORS, RUNS = 300, 120, 5


def people(seed: int = 21) -> tuple[list[Candidate], list[Candidate]]:
    rng = random.Random(seed)
    words = [f"topic{n}" for n in range(30)]
    times = ["weekday-mornings", "weekday-afternoons", "weekday-evenings", "weekends"]

    def one(pid: int, role: str) -> Candidate:
        return Candidate(
            id=pid,
            person=pid,
            interests=frozenset(rng.sample(words, 4 if role == "mentor" else 3)),
            stage=rng.randint(2, 5) if role == "mentor" else rng.randint(0, 3),
            offset_hours=rng.choice([-8, -7, -6, -5, 0, 1, 5.5]),
            availability=frozenset(rng.sample(times, 2)),
            languages=frozenset(rng.sample(["english", "spanish", "french"], 1) + ["english"]),
            capacity=rng.randint(1, 3) if role == "mentor" else 1,
            prefer=frozenset(rng.sample(["region", "gender"], rng.randint(0, 1))),
            sections={"region": rng.choice(["West", "Midwest"]), "gender": rng.choice(["Woman", "Man"])},
        )

    return [one(i, "mentor") for i in range(1, MENTORS + 1)], [
        one(1000 + i, "mentee") for i in range(MENTEES)
    ]


def main() -> None:
    mentors, mentees = people()
    places = [m for m in mentors for _ in range(m.capacity)]
    w = dict(DEFAULT_WEIGHTS)
    whole, scoring, solving, wording = [], [], [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        matrix = np.array([[value_of(m, e, w) for m in places] for e in mentees])
        t1 = time.perf_counter()
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        t2 = time.perf_counter()
        for i, c in zip(rows, cols, strict=True):
            score(places[c], mentees[i], w)
        t3 = time.perf_counter()
        result = assign(mentors, mentees, w)
        t4 = time.perf_counter()
        scoring.append(t1 - t0)
        solving.append(t2 - t1)
        wording.append(t3 - t2)
        whole.append(t4 - t3)
    ms = lambda xs: f"{statistics.median(xs) * 1000:.0f} ms"  # noqa: E731
    print(
        f"{MENTEES} mentees, {MENTORS} mentors, {len(places)} places; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"  assign() end to end:     {ms(whole)}   ({len(result.pairs)} pairs, {len(result.unmatched)} unmatched)"
    )
    print(f"  scoring every place pair ({len(places) * MENTEES:,} pairs): {ms(scoring)}")
    print(f"  linear_sum_assignment {MENTEES} x {len(places)}: {ms(solving)}")
    print(f"  reasons in words for the kept pairs: {ms(wording)}")


if __name__ == "__main__":
    main()
