"""The job controller's pure rules: back-off, completion indexes, conditions, finish times."""

from __future__ import annotations

from baleine.kube.controllers.job import (backoff_delay, finish_time, finished_condition, format_indexes, pod_index,
                                          set_condition)
from baleine.kube.controllers.podtemplate import parse_time
from baleine.kube.printers import table


def test_backoff_doubles_from_ten_seconds_to_six_minutes() -> None:
    assert [backoff_delay(n) for n in range(0, 8)] == [0, 10, 20, 40, 80, 160, 320, 360]


def test_completed_indexes_as_intervals() -> None:
    assert format_indexes({0, 1, 2, 4, 6, 7}) == "0-2,4,6-7"
    assert format_indexes(set()) == ""
    assert format_indexes({3}) == "3"


def test_pod_index() -> None:
    def pod(value: str | None) -> dict:
        ann = {} if value is None else {"batch.kubernetes.io/job-completion-index": value}
        return {"metadata": {"annotations": ann}}
    assert pod_index(pod("2"), 3) == 2
    assert pod_index(pod("3"), 3) is None and pod_index(pod("x"), 3) is None and pod_index(pod(None), 3) is None


def test_conditions_keep_transition_time_and_report_change() -> None:
    status: dict = {}
    assert set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", "2026-12-04T10:00:00Z")
    assert not set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", "2026-12-04T10:01:00Z")
    assert set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", "2026-12-04T10:02:00Z")
    assert status["conditions"] == [{"type": "Suspended", "status": "False", "reason": "JobResumed",
                                     "message": "Job resumed", "lastProbeTime": "2026-12-04T10:02:00Z",
                                     "lastTransitionTime": "2026-12-04T10:02:00Z"}]
    assert finished_condition({"status": status}) is None
    set_condition(status, "Complete", "True", "CompletionsReached", "m", "2026-12-04T10:03:00Z")
    assert finished_condition({"status": status})["type"] == "Complete"


def test_finish_time_from_containers_then_ready_condition() -> None:
    pod = {"status": {"containerStatuses": [
        {"state": {"terminated": {"finishedAt": "2026-12-04T10:00:00Z"}}},
        {"state": {"terminated": {"finishedAt": "2026-12-04T10:00:05Z"}}}]}}
    assert finish_time(pod) == parse_time("2026-12-04T10:00:05Z")
    pod = {"status": {"conditions": [{"type": "Ready", "status": "False",
                                      "lastTransitionTime": "2026-12-04T09:00:00Z"}]}}
    assert finish_time(pod) == parse_time("2026-12-04T09:00:00Z")
    assert finish_time({"status": {}}) is None


def test_the_completions_column() -> None:
    def cell(spec: dict, succeeded: int) -> str:
        obj = {"metadata": {"name": "j"}, "spec": spec, "status": {"succeeded": succeeded}}
        return table("Job", [obj], "1")["rows"][0]["cells"][2]
    assert cell({"completions": 3, "parallelism": 2}, 2) == "2/3"
    assert cell({"parallelism": 3}, 1) == "1/1 of 3"
    assert cell({"parallelism": 1}, 0) == "0/1"
