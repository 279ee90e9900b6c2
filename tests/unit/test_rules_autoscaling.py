"""The HPA algorithm against cases of Kubernetes' replica_calculator_test.go / horizontal_test.go."""

from __future__ import annotations

import pytest

from baleine.rules.autoscaling import (
    DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, MetricError, PodSample, Policy, ScalingRules, ScalingState,
    average_value_replicas, normalize, record_scale, utilization_replicas, value_replicas,
)


def pods(usages, requests=None, ready=None):
    requests = requests or [1000.0] * len(usages)
    ready = ready or [True] * len(usages)
    return [PodSample(f"p{i}", u, r, q) for i, (u, r, q) in enumerate(zip(usages, ready, requests))]


def test_scale_up():  # TestReplicaCalcScaleUp
    rec = utilization_replicas(pods([300, 500, 700]), 3, 30)
    assert (rec.replicas, rec.utilization) == (5, 50)


def test_scale_up_unready_less_scale():  # TestReplicaCalcScaleUpUnreadyLessScale
    rec = utilization_replicas(pods([300, 500, 700], ready=[False, True, True]), 3, 30)
    assert (rec.replicas, rec.utilization) == (4, 60)


def test_scale_up_unready_no_scale():  # TestReplicaCalcScaleUpUnreadyNoScale
    rec = utilization_replicas(pods([400, 500, 700], ready=[True, False, False]), 3, 30)
    assert (rec.replicas, rec.utilization) == (3, 40)


def test_scale_down():  # TestReplicaCalcScaleDown
    rec = utilization_replicas(pods([100, 300, 500, 250, 250]), 5, 50)
    assert (rec.replicas, rec.utilization) == (3, 28)


def test_missing_metrics_scale_down():  # TestReplicaCalcMissingMetricsScaleDown
    rec = utilization_replicas(pods([100, 100, 100, None]), 4, 50)
    assert (rec.replicas, rec.utilization) == (3, 10)


def test_missing_metrics_no_change_when_direction_flips():  # TestReplicaCalcMissingMetricsNoChangeGt
    rec = utilization_replicas(pods([1900, None]), 2, 100)
    assert rec.replicas == 2


def test_tolerance():  # TestReplicaCalcTolerance
    rec = utilization_replicas(pods([1010, 1030, 1020], requests=[900, 1100, 1000]), 3, 100)
    assert (rec.replicas, rec.utilization) == (3, 102)


def test_missing_request_is_an_error():
    with pytest.raises(MetricError, match="missing request for cpu in pod p1"):
        utilization_replicas(pods([100, 100], requests=[1000, 0]), 2, 50)


def test_no_pods_is_an_error():
    with pytest.raises(MetricError):
        utilization_replicas([], 1, 50)


def test_average_value():  # TestReplicaCalcScaleUpCM
    rec = average_value_replicas(pods([20000, 10000, 30000]), 3, 15000)
    assert (rec.replicas, rec.average) == (4, 20000)


def test_value_target():
    assert value_replicas(200, 100, 2, 2).replicas == 4
    assert value_replicas(105, 100, 2, 2).replicas == 2
    assert value_replicas(300, 100, 0, 0).replicas == 3


def test_default_scale_up_limit_is_max_of_4_pods_and_100_percent():
    out = normalize(ScalingState(), 1000.0, 1, 10, 1, 10)
    assert (out.replicas, out.limited, out.limited_reason) == (5, True, "ScaleUpLimit")
    out = normalize(ScalingState(), 1000.0, 8, 20, 1, 30)
    assert out.replicas == 16


def test_max_replicas_clamps():
    out = normalize(ScalingState(), 1000.0, 3, 10, 1, 4)
    assert (out.replicas, out.limited_reason) == (4, "TooManyReplicas")


def test_scale_down_stabilised_by_window_then_allowed():
    state = ScalingState()
    out = normalize(state, 1000.0, 4, 1, 1, 4)  # seeded with the current 4
    assert (out.replicas, out.able_reason) == (4, "ScaleDownStabilized")
    out = normalize(state, 1000.0 + 301, 4, 1, 1, 4)
    assert (out.replicas, out.able_reason, out.limited) == (1, "ReadyForNewScale", False)


def test_short_window_and_pods_policy_with_recorded_events():
    down = ScalingRules(0, "Max", (Policy("Pods", 1, 60),))
    state = ScalingState()
    record_scale(state, 970.0, 4, 3, DEFAULT_SCALE_UP, down)
    out = normalize(state, 1000.0, 3, 1, 1, 4, DEFAULT_SCALE_UP, down)
    assert (out.replicas, out.limited_reason) == (3, "ScaleDownLimit")
    out = normalize(state, 1031.0, 3, 1, 1, 4, DEFAULT_SCALE_UP, down)
    assert out.replicas == 2


def test_select_policy_min_and_disabled():
    up = ScalingRules(0, "Min", (Policy("Pods", 4, 15), Policy("Percent", 100, 15)))
    assert normalize(ScalingState(), 0.0, 1, 10, 1, 10, up).replicas == 2
    disabled = ScalingRules(0, "Disabled")
    assert normalize(ScalingState(), 0.0, 3, 10, 1, 10, disabled).replicas == 3
    assert normalize(ScalingState(), 0.0, 3, 1, 1, 10, DEFAULT_SCALE_UP,
                     ScalingRules(0, "Disabled")).replicas == 3


def test_up_window_takes_the_lowest_recent_recommendation():
    up = ScalingRules(60, "Max", DEFAULT_SCALE_UP.policies)
    state = ScalingState()
    normalize(state, 0.0, 2, 2, 1, 10, up, DEFAULT_SCALE_DOWN)
    out = normalize(state, 10.0, 2, 6, 1, 10, up, DEFAULT_SCALE_DOWN)
    assert (out.replicas, out.able_reason) == (2, "ScaleUpStabilized")
