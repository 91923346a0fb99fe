"""The P0/P1 lane in a process of its own, so that a storm on the main process cannot delay a P0's page.

`pager run` is two processes on one database. The main process serves HTTP (webhooks, committed
before the answer; the API; the web UI) and works the P2/P3 lane, outbound news, stakeholder
mail and the mailer. The urgent worker works the P0/P1 lane: its engine's claims and its
sender's pages.

In one process, each await on a P0's path (the engine's claim, the sender's lease, the Twilio
request, the record) waited its turn on the event loop behind a storm's webhooks, claims and
SMTP sessions: p99 ~380 ms from alert to Twilio, with every database lock and claim already
separate. A thread for the lane waited for the interpreter lock instead (p99 240-560 ms).

The worker is a replica that works one lane only. It claims with SKIP LOCKED like any replica and
is woken by LISTEN/NOTIFY when any replica commits a P0/P1 incident or queues its page. It shares
nothing with the main process but PostgreSQL and two pipes: one carries its metrics home, so
/metrics still counts every page; down the other the main process wakes it the moment it has
committed a P0/P1 incident (`wake`), without waiting for its own event loop to get round to the
NOTIFY that tells the other replicas (in a storm, each await there cost tens of milliseconds). If
it dies, the main process works the lane itself (`on_lost`).
If the main process dies, the worker stops too.

It is started as `python -m pager.urgent` rather than by multiprocessing, whose spawn start
method adds a resource-tracker process (13 MB) that nothing here needs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import threading
import typing

import structlog

from pager import clock as clock_mod
from pager import config, logs, notify
from pager import engine as engine_mod
from pager import metrics as metrics_mod
from pager import sender as sender_mod
from pager.store import db, escalations
from pager.store import outbox as outbox_store

log = structlog.get_logger(__name__)

LANE = ("urgent",)
"""The engine's and the sender's lane the worker works (`lanes.LANES`)."""
POOL_SIZE = 3
"""The worker's connections: the engine's claims, the sender's, and the next-due queries beside them."""
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
PARENT_CHECK = 1.0
"""Seconds between the worker's checks that the main process is still there."""
PR_SET_PDEATHSIG = 1

Message = tuple[str, tuple[str, ...], str, float]
"""A metric's change, sent home: (attribute of `metrics.Metrics`, label values, 'inc' | 'observe' | 'set', value).
Changes travel in lists, one per turn of the worker's event loop (`_Home`)."""
Arguments = tuple[config.Settings, str, int, bool]
"""What the main process hands the worker: settings, database URL, its own pid, JSON logs or not."""


class UrgentWorker:
    """The main process's handle on the worker: start it, hear its metrics, stop it."""

    def __init__(self, settings: config.Settings, database_url: str, metrics: metrics_mod.Metrics) -> None:
        self._settings = settings
        self._url = database_url
        self._metrics = metrics
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self._wake_fd: int | None = None

    async def start(self, on_lost: typing.Callable[[], None]) -> None:
        """Start it and return once it works the lane; `on_lost` runs on this loop if it ever ends early."""
        main = asyncio.get_running_loop()
        args_in, args_out = os.pipe()
        home_in, home_out = os.pipe()
        wake_in, wake_out = os.pipe()
        os.set_blocking(wake_out, False)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pager.urgent", str(args_in), str(home_out), str(wake_in)],
            pass_fds=(args_in, home_out, wake_in),
            stdin=subprocess.DEVNULL,
        )
        for fd in (args_in, home_out, wake_in):
            os.close(fd)  # the worker holds the only ends: home's writer is this side's EOF
        self._wake_fd = wake_out
        with multiprocessing.connection.Connection(args_out, readable=False) as to_worker:
            arguments: Arguments = (self._settings, self._url, os.getpid(), logs.json_configured())
            to_worker.send(arguments)
        reader = multiprocessing.connection.Connection(home_in, writable=False)
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()

        def hear() -> None:
            with reader:
                while True:
                    try:
                        message = reader.recv()
                    except (EOFError, OSError):
                        break
                    if message == "ready":
                        ready.set_result(None)
                        continue
                    for change in message:
                        _apply(self._metrics, change)
            if not ready.done():
                ready.set_exception(RuntimeError("the urgent worker ended before it was ready"))
            elif not self._stopping and not main.is_closed():
                log.error("the urgent worker ended unexpectedly: the main process now works the P0/P1 lane")
                main.call_soon_threadsafe(on_lost)

        threading.Thread(target=hear, name="pager-urgent-metrics", daemon=True).start()
        try:
            await asyncio.wait_for(asyncio.wrap_future(ready), START_TIMEOUT)
        except BaseException:
            await self.stop()
            raise
        log.info("urgent worker started", pid=self._process.pid)

    def wake(self) -> None:
        """Wake the worker's engine now: a P0/P1 incident was committed here (a byte down its pipe)."""
        if self._wake_fd is None:
            return
        try:
            os.write(self._wake_fd, b"!")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups the worker has not read yet: it is awake
        except OSError:
            pass  # it is gone: `on_lost` has the main process work the lane, and the NOTIFY is sent anyway

    async def stop(self) -> None:
        """Ask it to finish (SIGTERM), wait for it, and kill it if it does not."""
        self._stopping = True
        if self._wake_fd is not None:
            os.close(self._wake_fd)
            self._wake_fd = None
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
        try:
            await asyncio.to_thread(process.wait, STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.warning("the urgent worker did not stop; killing it", pid=process.pid)
            process.kill()
            await asyncio.to_thread(process.wait)


def _apply(metrics: metrics_mod.Metrics, message: Message) -> None:
    name, labels, op, value = message
    metric = getattr(metrics, name)
    getattr(metric.labels(*labels) if labels else metric, op)(value)


class _Sent:
    """A metric in the worker: each change goes down the pipe to the main process's registry."""

    def __init__(self, send: typing.Callable[[Message], None], name: str, labels: tuple[str, ...] = ()) -> None:
        self._send, self._name, self._labels = send, name, labels

    def labels(self, *values: object) -> _Sent:
        return _Sent(self._send, self._name, tuple(str(v) for v in values))

    def inc(self, n: float = 1) -> None:
        self._send((self._name, self._labels, "inc", n))

    def observe(self, value: float) -> None:
        self._send((self._name, self._labels, "observe", value))

    def set(self, value: float) -> None:
        self._send((self._name, self._labels, "set", value))


class _Home:
    """The pipe home, written once per turn of the event loop with every change made in it.

    A page changes three or four metrics; one write each cost the worker a pickle and a syscall and
    the main process's reader a wake-up and its interpreter lock, about 930 times a second at 300
    pages a second.
    """

    def __init__(self, conn: multiprocessing.connection.Connection, loop: asyncio.AbstractEventLoop) -> None:
        self._conn, self._loop = conn, loop
        self._pending: list[Message] = []

    def send(self, message: Message) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(message)

    def flush(self) -> None:
        if self._pending:
            changes, self._pending = self._pending, []
            self._conn.send(changes)


class _SentMetrics:
    """What the lane counts and observes (by `effects.emit`), counted in the main process."""

    def __init__(self, send: typing.Callable[[Message], None]) -> None:
        self._send = send

    def __getattr__(self, name: str) -> _Sent:
        return _Sent(self._send, name)


def _die_with_parent() -> None:
    """On Linux, SIGTERM this process when the main process dies, even by kill -9 (`_work` checks too, each second)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def main(argv: typing.Sequence[str]) -> None:
    """`python -m pager.urgent ARGS_FD HOME_FD WAKE_FD`, as `UrgentWorker.start` runs it."""
    _die_with_parent()
    with multiprocessing.connection.Connection(int(argv[1]), writable=False) as from_main:
        settings, database_url, parent, json_logs = typing.cast(Arguments, from_main.recv())
    logs.configure(json=json_logs)
    home = multiprocessing.connection.Connection(int(argv[2]), readable=False)
    wake_fd = int(argv[3])
    try:
        import uvloop
    except ImportError:
        asyncio.run(_work(settings, database_url, home, wake_fd, parent))
    else:
        uvloop.run(_work(settings, database_url, home, wake_fd, parent))


def _woken(loop: asyncio.AbstractEventLoop, fd: int, wake: typing.Callable[[], None]) -> None:
    """Read the main process's wake-ups (`UrgentWorker.wake`) and wake the engine; at EOF stop reading."""
    try:
        data = os.read(fd, 4096)
    except BlockingIOError:
        return
    if data:
        wake()
    else:
        loop.remove_reader(fd)


async def _work(
    settings: config.Settings,
    database_url: str,
    home: multiprocessing.connection.Connection,
    wake_fd: int,
    parent: int,
) -> None:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # SIGINT: a terminal's Ctrl-C reaches the whole process group
        loop.add_signal_handler(sig, done.set)
    clock = clock_mod.SystemClock()
    to_home = _Home(home, loop)
    metrics = typing.cast(metrics_mod.Metrics, _SentMetrics(to_home.send))
    pool = await db.create_pool(database_url, min_size=POOL_SIZE, max_size=POOL_SIZE)
    sender = sender_mod.Sender(settings, outbox_store.Outbox(pool), clock, metrics, notify.build(settings))
    engine = engine_mod.Engine(settings, escalations.Escalations(pool), clock, metrics, on_pages=sender.wake)
    wake = {"pager_incidents": engine.wake, "pager_outbox": sender.wake}
    listener = db.Listener(database_url, list(wake), lambda channel, payload: wake[channel](payload))
    listener.start()
    os.set_blocking(wake_fd, False)
    loop.add_reader(wake_fd, _woken, loop, wake_fd, lambda: engine.wake("urgent"))
    tasks = [
        asyncio.create_task(engine.run(LANE), name="pager-engine:urgent"),
        asyncio.create_task(sender.run(LANE), name="pager-sender:urgent"),
    ]
    home.send("ready")
    try:
        while not done.is_set() and os.getppid() == parent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), PARENT_CHECK)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        loop.remove_reader(wake_fd)
        await listener.stop()
        await sender.aclose()
        await pool.close()
        to_home.flush()
        home.close()


if __name__ == "__main__":
    main(sys.argv)
