"""Share CPU-heavy steps out over event-loop iterations, a millisecond's worth each.

Building and signing a request costs about a millisecond of CPU, all of it on the
event loop. ``asyncio.gather()`` over 256 calls would run all 256 in the same loop
iteration and freeze everything else for a quarter of a second. :class:`Turns`
lets steps through first come, first served, up to a CPU budget per iteration;
the rest wait for the next iterations, while other tasks (streams already
running, timers, the application) get their share in between.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["Turns", "turns"]

# Seconds of such steps per loop iteration. Measured with 256 streams starting at
# once: 1 ms gave p99 loop lag 11-21 ms and 0.9-1.1 s until all had a first token;
# 3 ms gave 24-32 ms and 1.1-1.9 s (the streams already running wait more).
_BUDGET = 0.001


class Turns:
    """First-come, first-served admission of CPU-heavy steps, by CPU budget.

    Use one per event loop (see :func:`turns`); it keeps no reference to the loop.

    Args:
        budget: Seconds of steps to admit per loop iteration (at least one step).
    """

    def __init__(self, budget: float = _BUDGET) -> None:
        self._budget = budget
        self._queue: deque[asyncio.Future[None]] = deque()
        self._spent = 0.0  # seconds of steps run in the current iteration
        self._cost = budget / 3  # running estimate of one step
        self._tick_scheduled = False

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for a turn, then run the body (which must not await) and time it."""
        if self._queue or self._spent >= self._budget:
            admitted = asyncio.get_running_loop().create_future()
            self._queue.append(admitted)
            self._schedule_tick()
            try:
                await admitted
            except BaseException:  # cancelled, or the caller's generator closed
                if not admitted.done():
                    admitted.cancel()  # _admit() skips it
                elif not admitted.cancelled():
                    self._admit(1)  # admitted but leaving: the next one goes instead
                raise
        self._schedule_tick()  # a new budget next iteration
        start = time.perf_counter()
        try:
            yield
        finally:
            cost = time.perf_counter() - start
            self._spent += cost
            self._cost += (cost - self._cost) / 5

    def _schedule_tick(self) -> None:
        if not self._tick_scheduled:
            self._tick_scheduled = True
            asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        # call_soon() runs this in the next loop iteration, after the steps admitted
        # in this one: so each iteration has a fresh budget and admits its share.
        self._tick_scheduled = False
        self._spent = 0.0
        if self._queue:
            self._admit(max(1, int(self._budget / max(self._cost, 1e-6))))
            self._schedule_tick()

    def _admit(self, count: int) -> None:
        while count and self._queue:
            admitted = self._queue.popleft()
            if not admitted.done():
                admitted.set_result(None)
                count -= 1


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Turns] = weakref.WeakKeyDictionary()


def turns() -> Turns:
    """The running event loop's :class:`Turns`."""
    loop = asyncio.get_running_loop()
    found = _by_loop.get(loop)
    if found is None:
        found = _by_loop[loop] = Turns()
    return found
