"""What a streaming request asks for, decided before any stream opens (pure rules of
baleine.kube.streams: container choice, PodLogOptions, the kubelet's log timestamps)."""

from __future__ import annotations

import time

import pytest
from aiohttp.test_utils import make_mocked_request

from baleine.kube.status import APIError
from baleine.kube.streams import logs, pods

POD = {"metadata": {"name": "web", "namespace": "default"},
       "spec": {"initContainers": [{"name": "setup"}], "containers": [{"name": "app"}, {"name": "side"}]}}


def test_a_named_container_must_be_the_pods() -> None:
    assert pods.container_name(POD, "side") == "side"
    assert pods.container_name(POD, "setup") == "setup"  # init containers have logs too
    with pytest.raises(APIError) as err:
        pods.container_name(POD, "nope")
    assert (err.value.code, err.value.message) == (400, "container nope is not valid for pod web")


def test_the_server_guesses_only_the_only_container() -> None:
    single = {"metadata": {"name": "one"}, "spec": {"containers": [{"name": "main"}]}}
    assert pods.container_name(single, "") == "main"
    with pytest.raises(APIError) as err:
        pods.container_name(POD, "")
    assert err.value.message == "a container name must be specified for pod web, choose one of: [app side]"


def test_finished_pods_refuse_exec() -> None:
    pods.refuse_completed({"status": {"phase": "Running"}}, "exec into")
    with pytest.raises(APIError) as err:
        pods.refuse_completed({"status": {"phase": "Succeeded"}}, "exec into")
    assert err.value.message == "cannot exec into a container in a completed pod; current phase is Succeeded"


def _options(query: str) -> logs.PodLogOptions:
    return logs.parse_options(make_mocked_request("GET", f"/api/v1/namespaces/default/pods/web/log?{query}"), "web")


def test_log_options() -> None:
    opts = _options("container=app&follow=true&tailLines=5&timestamps=1&limitBytes=10&previous=false")
    assert (opts.container, opts.follow, opts.tail_lines, opts.timestamps, opts.limit_bytes, opts.previous) == \
        ("app", True, 5, True, 10, False)
    assert abs(_options("sinceSeconds=60").since - (time.time() - 60)) < 5
    assert _options("sinceTime=2024-01-02T03:04:05Z").since == 1704164645.0


@pytest.mark.parametrize("query, message", [
    ("tailLines=-1", 'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'),
    ("limitBytes=0", 'PodLogOptions "web" is invalid: limitBytes: Invalid value: 0: must be greater than 0'),
    ("sinceSeconds=0", 'PodLogOptions "web" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0'),
    ("sinceSeconds=5&sinceTime=2024-01-02T03:04:05Z",
     'PodLogOptions "web" is invalid: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified'),
])
def test_bad_log_options_are_invalid(query: str, message: str) -> None:
    with pytest.raises(APIError) as err:
        _options(query)
    assert (err.value.code, err.value.message) == (422, message)


def test_log_option_values_must_parse() -> None:
    for query in ("tailLines=ten", "sinceTime=yesterday"):
        with pytest.raises(APIError) as err:
            _options(query)
        assert err.value.code == 400


def test_timestamps_have_nine_fractional_digits_as_the_kubelets() -> None:
    assert logs.kubelet_time("2024-01-02T03:04:05.5Z") == b"2024-01-02T03:04:05.500000000Z"
    assert logs.kubelet_time("2024-01-02T03:04:05Z") == b"2024-01-02T03:04:05.000000000Z"
    assert logs.kubelet_time("2024-01-02T04:04:05.123456789+01:00") == b"2024-01-02T03:04:05.123456789Z"
