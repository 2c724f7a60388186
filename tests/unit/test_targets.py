"""The pure parts of failover and telemetry: Breaker, Plan, Policy with targets, Timing."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from langchain_jumpstart_stream import Target, errors
from langchain_jumpstart_stream import _targets as targets_module
from langchain_jumpstart_stream._attempt import Policy
from langchain_jumpstart_stream._decoder import Piece
from langchain_jumpstart_stream._targets import Breaker, Leg, Plan, make_legs
from langchain_jumpstart_stream._telemetry import Timing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(targets_module.time, "monotonic", clock)
    return clock


def legs(*names: str) -> list[Leg]:
    def never() -> Any:
        raise AssertionError("a pure test opens no connection")

    return [
        Leg(Target(endpoint_name=n), None, {"EndpointName": n}, never, lambda: True) for n in names
    ]


def throttled(name: str) -> errors.EndpointThrottledError:
    return errors.EndpointThrottledError(
        "Rate exceeded", endpoint_name=name, error_code="ThrottlingException"
    )


def names(plan_legs: list[Leg]) -> list[str]:
    return [leg.endpoint_name for leg in plan_legs]


def test_breaker_puts_cooling_targets_last_and_forgets_them_after_the_cooldown(
    clock: Clock,
) -> None:
    a, b, c = legs("a", "b", "c")
    breaker = Breaker(cooldown=30)
    assert names(breaker.order([a, b, c])) == ["a", "b", "c"]
    breaker.trip(a.target)
    clock.now += 1
    breaker.trip(c.target)
    assert names(breaker.order([a, b, c])) == ["b", "a", "c"]
    clock.now += 29.5  # a's cool-down is over, c's is not
    assert names(breaker.order([c, a, b])) == ["a", "b", "c"]
    assert not breaker.cooling(a.target) and breaker.cooling(c.target)
    breaker.reset(c.target)
    assert not breaker.cooling(c.target)


def test_a_zero_cooldown_never_skips(clock: Clock) -> None:
    a, b = legs("a", "b")
    breaker = Breaker(cooldown=0)
    breaker.trip(a.target)
    assert names(breaker.order([a, b])) == ["a", "b"]


def test_policy_moves_on_at_once_and_backs_off_between_rounds(clock: Clock) -> None:
    plan = Plan(legs("a", "b"), Breaker(30))
    policy = Policy(1, 0.5, None, "a", plan)
    policy.begin()
    assert policy.retry_delay(throttled("a"), delivered=False) == 0.0  # to b, no wait
    assert plan.current.endpoint_name == "b"
    policy.begin()
    delay = policy.retry_delay(throttled("b"), delivered=False)
    assert delay is not None and 0 <= delay <= 0.5  # a new round: a backoff
    assert plan.current.endpoint_name == "a"  # both cooling: the configured order
    policy.begin()
    assert policy.retry_delay(throttled("a"), delivered=False) == 0.0
    policy.begin()
    assert policy.retry_delay(throttled("b"), delivered=False) is None  # rounds used up
    assert [f.target.endpoint_name for f in plan.failures] == ["a", "b", "a", "b"]


def test_policy_never_moves_after_a_token_or_on_an_error_a_retry_cannot_fix() -> None:
    plan = Plan(legs("a", "b"), Breaker(30))
    policy = Policy(2, 0.0, None, "a", plan)
    policy.begin()
    assert policy.retry_delay(throttled("a"), delivered=True) is None
    assert plan.current.endpoint_name == "a"
    bad = errors.InvalidRequestError("bad", endpoint_name="a", error_code="ValidationError")
    assert policy.retry_delay(bad, delivered=False) is None
    assert plan.current.endpoint_name == "a"
    # Neither tripped the breaker: the next call may use "a" first.
    assert plan.breaker is not None and not plan.breaker.cooling(plan.current.target)


def test_without_fallbacks_retries_are_as_before() -> None:
    plan = Plan(legs("a"))
    policy = Policy(2, 0.0, None, "a", plan)
    delays = []
    for _ in range(3):
        policy.begin()
        delays.append(policy.retry_delay(throttled("a"), delivered=False))
    assert delays == [0.0, 0.0, None]  # 3 attempts: max_retries=2, base delay 0
    err = throttled("a")
    plan.explain(err)
    assert "every target failed" not in str(err)  # one target: nothing to list


def test_giving_up_lists_every_target() -> None:
    plan = Plan(legs("a", "b"))
    first, last = throttled("a"), errors.EndpointServiceError("boom", error_code="InternalFailure")
    plan.failed(first, retryable=True)
    plan.move_on()
    plan.failed(last, retryable=True)
    plan.explain(last)
    assert last.failures == (first, last)
    assert "[every target failed: a: ThrottlingException; b: InternalFailure]" in str(last)


def test_fallback_requests_carry_only_their_own_members() -> None:
    own = Target(endpoint_name="a", inference_component_name="ic", region_name="eu-west-1")
    request = {"EndpointName": "a", "InferenceComponentName": "ic", "Body": b"{}"}
    fallback = Target(endpoint_name="b", target_variant="Blue")
    made = make_legs(own, [fallback], request, lambda region: None, lambda region: True)  # type: ignore[arg-type,return-value]
    assert [leg.request for leg in made] == [
        request,
        {"EndpointName": "b", "TargetVariant": "Blue", "Body": b"{}"},
    ]
    assert made[1].region_name == "eu-west-1"  # no region of its own: the model's
    assert str(made[1].target) == "b variant Blue in eu-west-1"


def test_timing_percentiles_count_pieces_that_came_together_as_zero_gaps() -> None:
    timing = Timing()
    timing.start, timing.first, timing.pieces = 0.0, 0.25, 1
    timing.gaps.extend([0.1, 0.2, 0.3, 0.4])
    timing.bursts = 3  # three more pieces arrived in the same reads as the one before
    # Seven gaps, nearest rank: 0, 0, 0, 0.1 (p50), 0.2, 0.3, 0.4 (p99, max).
    assert timing.latencies() == {"p50": 0.1, "p99": 0.4, "max": 0.4}
    timing.bursts = 4  # eight gaps: the 4th is p50
    assert timing.latencies()["p50"] == 0.0
    timing.last = 1.25
    report = timing.report({"output_tokens": 11})
    assert report["time_to_first_token_s"] == 0.25
    assert report["tokens_per_second"] == 10.0  # 10 tokens after the first, in 1 s


def test_timing_counts_reads_and_the_closing_piece_only_with_text() -> None:
    timing = Timing()
    timing.read(3)
    timing.read(1)
    timing.end([Piece(""), Piece("", {"output_tokens": 4})][1:])  # closing only: not a piece
    assert (timing.pieces, timing.bursts, len(timing.gaps)) == (4, 2, 1)
    timing.end([Piece("tail", {"output_tokens": 5})])
    assert timing.pieces == 5


def test_timing_off_records_nothing() -> None:
    timing = Timing.off()
    timing.read(5)
    timing.end([Piece("x")])
    assert (timing.pieces, len(timing.gaps)) == (0, 0)
    assert timing.report({"output_tokens": 5}) == {}


def test_a_100k_token_stream_keeps_timing_in_bounded_memory() -> None:
    tracemalloc.start()
    try:
        timing = Timing()
        for _ in range(100_000):
            timing.read(1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_200_000  # 8 bytes per read: 800 kB, well inside the 5 MB target
    gaps = timing.latencies()
    assert gaps["p50"] is not None and gaps["p50"] <= gaps["p99"] <= gaps["max"]  # type: ignore[operator]
