"""Run blocking boto3 work in threads and hand its results to asyncio.

Most async work runs on the event loop itself (:mod:`._aio_transport`). These
helpers cover what cannot:

* :func:`run_in_thread` runs one blocking call (creating the client, refreshing
  credentials, or a whole botocore send for clients the loop cannot serve) in a
  short-lived thread of its own. A thread per call, not a fixed pool: requests
  waiting for their endpoints never wait behind one another.
* :func:`aiter_in_thread` iterates a blocking stream in a worker thread: the
  body of a response botocore sent (a proxy, a client certificate, a stub). The
  worker hands over everything one network read produced as a single batch, and
  wakes the event loop only when the consumer is waiting. Closing the async
  generator (a ``break``, a cancelled task) aborts the worker's socket at once,
  so the endpoint stops generating.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Generic, TypeVar, cast

__all__ = ["aiter_in_thread", "run_in_thread"]

T = TypeVar("T")

_END = object()


class _Channel(Generic[T]):
    """A one-producer, one-consumer queue from a thread to an event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: deque[list[T] | BaseException | object] = deque()
        self._lock = threading.Lock()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: list[T] | BaseException | object) -> None:
        """Called from the worker thread."""
        with self._lock:
            self._items.append(item)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            # A closed loop raises RuntimeError: nobody is listening any more.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(_wake, waiter)

    async def get(self) -> list[T] | BaseException | object:
        """Called from the event loop."""
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
                waiter = self._waiter = self._loop.create_future()
            await waiter


# Thread.start() waits until the new thread has run, and with hundreds of busy threads
# that wait can last a second: long enough to freeze an event loop. One spawner
# thread starts the workers instead, so the loop never waits on it.
_spawn_lock = threading.Lock()
_spawn_queue: queue.SimpleQueue[threading.Thread] | None = None


def _spawner(jobs: queue.SimpleQueue[threading.Thread]) -> None:
    while True:
        jobs.get().start()


def _start_soon(thread: threading.Thread) -> None:
    global _spawn_queue
    with _spawn_lock:
        if _spawn_queue is None:
            _spawn_queue = queue.SimpleQueue()
            threading.Thread(
                target=_spawner, args=(_spawn_queue,), name="jumpstart-stream-spawner", daemon=True
            ).start()
        _spawn_queue.put(thread)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _settle(
    future: asyncio.Future[T],
    result: T | None,
    error: BaseException | None,
    orphan: Callable[[T], None],
) -> None:
    if future.done():  # cancelled meanwhile: nobody will take the result
        if error is None:
            orphan(cast("T", result))
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(cast("T", result))


def _nothing_to_release(_: object) -> None:
    """The default ``orphan``: the result holds nothing that needs closing."""


async def run_in_thread(
    call: Callable[[], T], *, orphan: Callable[[T], None] = _nothing_to_release
) -> T:
    """Run ``call()`` in a new daemon thread and return its result.

    Args:
        call: The blocking function.
        orphan: Called with the result when the awaiting task was stopped before
            it arrived, to release what nobody will use, such as an open HTTP stream.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def work() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = call()
        except BaseException as exc:  # handed to the awaiting task
            error = exc
        try:
            loop.call_soon_threadsafe(_settle, future, result, error, orphan)
        except RuntimeError:  # the loop is closed: nobody is waiting
            if error is None:
                orphan(cast("T", result))

    _start_soon(threading.Thread(target=work, name="jumpstart-stream-send", daemon=True))
    try:
        return await future
    except BaseException:  # a cancelled task, or GeneratorExit from aclose()
        if not future.done():
            future.cancel()  # _settle() hands the result to orphan()
        elif not future.cancelled() and future.exception() is None:
            orphan(future.result())  # it arrived just as we were stopped
        raise


async def aiter_in_thread(
    batches: Callable[[], Iterator[list[T]]],
    abort: Callable[[], None],
    *,
    name: str = "jumpstart-stream",
) -> AsyncGenerator[list[T], None]:
    """Iterate ``batches()`` in a daemon thread; yield its batches on the event loop.

    Args:
        batches: Creates the blocking iterator; called in the worker thread.
        abort: Called from the event loop to make the worker stop promptly.
        name: Worker thread name, for debugging.
    """
    channel: _Channel[T] = _Channel(asyncio.get_running_loop())
    stop = threading.Event()

    def work() -> None:
        if stop.is_set():  # cancelled before this thread even started
            channel.put(_END)
            return
        iterator = batches()
        try:
            for batch in iterator:
                if stop.is_set():
                    break
                if batch:
                    channel.put(batch)
        except BaseException as exc:
            channel.put(exc)
        else:
            channel.put(_END)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=work, name=name, daemon=True)
    _start_soon(thread)
    try:
        while True:
            item = await channel.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield cast("list[T]", item)
    finally:
        stop.set()  # also stops a worker that has not started yet
        abort()
