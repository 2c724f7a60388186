"""Turns: CPU-heavy steps spread over event-loop iterations, first come first served."""

from __future__ import annotations

import asyncio
import time

from langchain_jumpstart_stream._turns import Turns


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class _Iterations:
    """Counts event-loop iterations: a callback that schedules itself each time."""

    def __init__(self) -> None:
        self.count = 0
        self._stopped = False

    def start(self) -> None:
        asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._stopped = True

    def _tick(self) -> None:
        self.count += 1
        if not self._stopped:
            asyncio.get_running_loop().call_soon(self._tick)


async def test_a_burst_is_spread_over_iterations_in_arrival_order() -> None:
    turns = Turns(budget=0.001)
    iterations = _Iterations()
    iterations.start()
    ran: list[tuple[int, int]] = []  # (step, iteration)

    async def step(n: int) -> None:
        async with turns.turn():
            ran.append((n, iterations.count))
            _busy(0.0005)

    await asyncio.gather(*(step(n) for n in range(40)))
    iterations.stop()
    assert [n for n, _ in ran] == list(range(40))  # first come, first served
    per_iteration: dict[int, int] = {}
    for _, at in ran:
        per_iteration[at] = per_iteration.get(at, 0) + 1
    # 1 ms of budget and 0.5 ms steps: two or three an iteration, never the burst.
    assert max(per_iteration.values()) <= 3, per_iteration
    assert len(per_iteration) >= 40 // 3


async def test_a_step_alone_runs_at_once() -> None:
    turns = Turns(budget=0.001)
    iterations = _Iterations()
    iterations.start()
    async with turns.turn():
        at = iterations.count
    iterations.stop()
    assert at == 0  # no iteration passed: an idle loop adds no latency


async def test_cancelled_waiters_do_not_hold_up_the_others() -> None:
    turns = Turns(budget=0.001)
    done: list[int] = []

    async def step(n: int) -> None:
        async with turns.turn():
            _busy(0.0015)  # over budget: everyone after the first waits
            done.append(n)

    tasks = [asyncio.create_task(step(n)) for n in range(6)]
    await asyncio.sleep(0)  # all have arrived; 1-5 wait in the queue
    tasks[2].cancel()
    tasks[4].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert done == [0, 1, 3, 5]
    assert [type(r).__name__ for r in results if r is not None] == ["CancelledError"] * 2
