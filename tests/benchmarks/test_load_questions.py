"""The load test's question pools: the distinct pool holds every standalone question of
the evaluation sets once (so a load of it meets passages the repeated pool never asks
about), and no conversation follow-up, which means nothing without its first turn."""

from __future__ import annotations

import json

from benchmarks.load_test import EVALUATION_SETS, QUESTIONS, question_pools


def test_the_distinct_pool_holds_each_standalone_evaluation_question_once() -> None:
    pools = question_pools()
    distinct = pools["distinct"]
    assert pools["repeated"] == QUESTIONS
    assert len(distinct) == len(set(distinct)) >= 80
    assert set(QUESTIONS) <= set(distinct)
    follow_ups = set()
    for path in EVALUATION_SETS.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            for field in ("question", "first", "standalone"):
                if field in record:
                    assert record[field] in distinct, (path.name, record[field])
            if "follow_up" in record:
                follow_ups.add(record["follow_up"])
    assert follow_ups, "the conversation set has follow-ups to leave out"
    assert not follow_ups & set(distinct)
