"""The distributed backend: Kettle's tasks carried by Dramatiq on Redis.

Selected by ``KETTLE_TASKS_URL=redis://host:6379/0`` (no code change). Kettle does not speak
a broker protocol: Dramatiq's Redis broker moves the messages (a list per queue, a set of
unacknowledged messages per worker, acknowledgement after the task ran) and Dramatiq's
worker consumes them; each Dramatiq message carries one ``TaskMessage`` as msgspec JSON, and
the worker runs it through the shared ``Registry``, so validation, retries, timeouts and
unknown tasks behave exactly as with the database backend. Task state (what
``handle.refresh()``, ``kettle tasks`` and the status line show) lives in the same Redis,
see ``kettle.tasks._redisstore``.

Priorities: each Kettle queue is three Dramatiq queues, one per band: ``<queue>.high``
(priority above 0), ``<queue>`` (0, the default) and ``<queue>.low`` (below 0). A worker's
consumer asks the bands highest first and the lower ones only for what is left of its
prefetch, and its threads take the prefetched messages highest band first (each band's
actor has a Dramatiq priority). Within a band, messages go first in, first out.

Options go in the URL's query and are removed before connecting::

    redis://127.0.0.1:6379/0?visibility_timeout=60&keep=604800&namespace=kettle

- ``visibility_timeout`` (seconds, 60): a worker that stops sending heartbeats for this
  long is dead, and the tasks it had taken go back to their queue (at-least-once).
- ``keep`` (seconds, 7 days): how long a task's record outlives its last change.
- ``namespace`` (``kettle``): the prefix of every Redis key, for sharing a server.
- ``check_every`` (seconds, 1): an enqueue inside a unit of work is sent at the commit, so
  it first makes sure Redis answers (a request gets a 503, with nothing written, while Redis
  is down). Within this long of a Redis round trip that succeeded (any enqueue's or
  check's, nothing failing since) it trusts that answer instead of sending a PING; ``0``
  pings at every such enqueue. Should Redis go down in that moment, the commit still
  succeeds and its messages wait in the process until Redis is back (``_outbox``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import uuid4

import msgspec
import redis
from dramatiq import Actor, Message, Worker
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis, dq_name, q_name
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import CurrentMessage

from kettle.tasks._backend import TaskRecord, TasksUnavailable, WorkerLoop
from kettle.tasks._held import HeldWrites, Write
from kettle.tasks._message import State, TaskMessage, decode, encode, utcnow
from kettle.tasks._outbox import Outbox
from kettle.tasks._redisstore import RedisStore

if TYPE_CHECKING:
    from kettle.tasks._registry import Outcome, Registry

logger = logging.getLogger("kettle.tasks")

#: The query options this backend reads from its URL, with their defaults.
OPTIONS = {"visibility_timeout": "60", "keep": "604800", "namespace": "kettle", "check_every": "1"}
#: The prefix of the one Dramatiq actor per Kettle queue.
ACTOR_PREFIX = "kettle_"
#: The option a message gets once Kettle acknowledged it with the task's outcome.
ACKED = "kettle_acked"
#: What a Redis that cannot be reached raises (a 503 in a request, retried by a worker).
DOWN = (redis.ConnectionError, redis.TimeoutError)
#: How long a request waits for Redis before answering 503.
CONNECT_TIMEOUT = 2.0
#: How long a worker thread holds a task's outcome for its next start (``_held``).
HOLD_OUTCOME = 0.005
#: The suffixes of a queue's priority bands, highest first (see the module docstring).
BANDS = (".high", "", ".low")


def band(priority: int) -> int:
    """The index in ``BANDS`` of the band a task of ``priority`` goes to::

    band(5), band(0), band(-1)     # (0, 1, 2)
    """
    return 0 if priority > 0 else 1 if priority == 0 else 2


def band_queues(queue: str) -> list[str]:
    """The Dramatiq queues of a Kettle queue (its delay queues for ``name.DQ``), highest
    band first::

    band_queues("mail")        # ["mail.high", "mail", "mail.low"]
    band_queues("mail.DQ")     # ["mail.high.DQ", "mail.DQ", "mail.low.DQ"]
    """
    delayed = queue.endswith(".DQ")
    base = q_name(queue)
    return [dq_name(base + suffix) if delayed else base + suffix for suffix in BANDS]


def unbanded(queue_name: str) -> str:
    """The Dramatiq queue whose consumer reads the band ``queue_name``::

    unbanded("mail.high")      # "mail"
    unbanded("mail.low.DQ")    # "mail.DQ"
    """
    delayed = queue_name.endswith(".DQ")
    base = q_name(queue_name)
    for suffix in BANDS:
        if suffix and base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return dq_name(base) if delayed else base


class _ConsumersByBand(dict[str, Any]):
    """Dramatiq's ``Worker.consumers``, which also answers for a band's queue name with
    the consumer that reads the band (Dramatiq looks a message's consumer up by its
    ``queue_name``, to acknowledge it and to requeue it at shutdown)."""

    def __missing__(self, queue_name: str) -> Any:
        canonical = unbanded(queue_name)
        if canonical == queue_name:
            raise KeyError(queue_name)
        return self[canonical]


def actor_name(queue: str, index: int) -> str:
    """The Dramatiq actor of one band of ``queue`` (the default band keeps the name of
    the actor from before bands, so messages queued then still run)::

    actor_name("mail", 1)      # "kettle_mail"
    """
    return ACTOR_PREFIX + queue + BANDS[index]


def _split(url: str, visibility_timeout: float) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    defaults = {**OPTIONS, "visibility_timeout": str(visibility_timeout)}
    options = {name: query.pop(name, default) for name, default in defaults.items()}
    return urlunsplit(parts._replace(query=urlencode(query))), options


def _shown(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


_carrier_encoder = msgspec.json.Encoder()


class _Broker(RedisBroker):
    """Dramatiq's Redis broker, which does its queue maintenance (requeueing the messages of
    dead workers) when Kettle asks for it, not only by chance."""

    def __init__(self, client: redis.Redis, namespace: str, heartbeat_timeout: int) -> None:
        # No Dramatiq middleware: retries, time limits and results are Kettle's (the
        # registry and the store), the same as with every other backend.
        super().__init__(  # type: ignore[no-untyped-call]  # Dramatiq leaves it unannotated
            client=client,
            middleware=[],
            namespace=namespace,
            heartbeat_timeout=heartbeat_timeout,
        )

    def enqueue_in(
        self, pipe: Any, queue_name: str, actor: str, payload: str, delay: int | None
    ) -> None:
        """Dramatiq's ``enqueue`` of a message for ``actor`` carrying ``payload`` as one
        command of ``pipe``, so that a task's record and its message are written in one
        round trip and one transaction."""
        options: dict[str, Any] = {"redis_message_id": uuid4().hex}
        if delay is not None:
            queue_name = dq_name(queue_name)
            options["eta"] = current_millis() + delay
        # PERF: the JSON of Dramatiq's Message (what Message.decode reads) in one msgspec
        # call; building a Message, copying it and json.dumps-ing it cost three times more.
        data = _carrier_encoder.encode(
            {
                "queue_name": queue_name,
                "actor_name": actor,
                "args": [payload],
                "kwargs": {},
                "options": options,
                "message_id": str(uuid4()),
                "message_timestamp": current_millis(),
            }
        )
        # NOTE: the arguments of Dramatiq's dispatch script, as RedisBroker._dispatch
        # passes them (dramatiq is pinned below 3; the tests run against the real script).
        args = [
            "enqueue",
            current_millis(),
            queue_name,
            self.broker_id,
            self.heartbeat_timeout,
            self.dead_message_ttl,
            0,
            self._max_unpack_size(),  # type: ignore[no-untyped-call]
            options["redis_message_id"],
            data,
        ]
        # PERF: EVALSHA straight into the pipeline; redis-py's Script objects would ask
        # SCRIPT EXISTS first, one more round trip per send (``load`` runs it once).
        pipe.evalsha(self.scripts["dispatch"].sha, 1, self.namespace, *args)

    def fetch_in(self, pipe: Any, queue_name: str, count: int) -> None:
        """Dramatiq's fetch of up to ``count`` messages of ``queue_name`` as one command of
        ``pipe`` (its reply: the messages' data), so that several bands are read in one
        round trip."""
        args = [
            "fetch",
            current_millis(),
            queue_name,
            self.broker_id,
            self.heartbeat_timeout,
            self.dead_message_ttl,
            int(self._should_do_maintenance("fetch")),
            self._max_unpack_size(),  # type: ignore[no-untyped-call]
            count,
        ]
        pipe.evalsha(self.scripts["dispatch"].sha, 1, self.namespace, *args)

    def ack_in(self, pipe: Any, message: MessageProxy) -> None:
        """Dramatiq's acknowledgement of ``message`` as one command of ``pipe`` (with the
        task's outcome); the consumer then skips its own."""
        args = [
            "ack",
            current_millis(),
            message.queue_name,
            self.broker_id,
            self.heartbeat_timeout,
            self.dead_message_ttl,
            0,
            self._max_unpack_size(),  # type: ignore[no-untyped-call]
            message.options["redis_message_id"],
        ]
        pipe.evalsha(self.scripts["dispatch"].sha, 1, self.namespace, *args)

    @property
    def consumer_class(self) -> type[_Consumer]:
        return _Consumer

    def load(self) -> None:
        """Load the dispatch script into Redis (at the first send, and after Redis lost
        its scripts: a restart, SCRIPT FLUSH)."""
        script = self.scripts["dispatch"]
        self.client.script_load(script.script)

    def _should_do_maintenance(self, command: str) -> int:
        if command == "qsize":
            return 1
        return int(super()._should_do_maintenance(command))


class _Consumer(_RedisConsumer):
    """Dramatiq's Redis consumer of one Kettle queue (or its delay queue), fetching from
    its priority bands highest first, minus the acknowledgements Kettle already made.

    Dramatiq's consumer fetches from its one queue when fewer than ``prefetch`` messages
    are outstanding; this one asks the bands highest first, and a lower band only when the
    higher ones came short (see ``_fetch``). Acknowledgements go to the band a message came
    from (``message.queue_name``)."""

    def __init__(self, broker: _Broker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self.bands = band_queues(queue_name)
        self.broker = broker
        #: The index of the highest band that had messages at the last fetch (0 at first).
        self.reach = 0

    def __next__(self) -> MessageProxy | None:
        # Dramatiq's loop, with the fetch across the bands: the next prefetched message,
        # else None after a wait that grows while nothing comes (up to `timeout`).
        try:
            if not self.message_cache and self.outstanding_message_count < self.prefetch:
                self.message_cache = self._fetch(self.prefetch - self.outstanding_message_count)
            if self.message_cache:
                self.misses = 0
                message = Message.decode(self.message_cache.pop(0))
                self.queued_message_ids.add(message.message_id)
                return MessageProxy(message)
        except redis.ConnectionError as error:
            raise ConnectionClosed(error) from None  # type: ignore[no-untyped-call]
        self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
        time.sleep(backoff_ms / 1000)
        return None

    def _fetch(self, wanted: int) -> list[bytes]:
        # The bands down to `reach` (those above it were empty last time) in one round
        # trip, then the lower ones one at a time while fewer than `wanted` came.
        # PERF: a busy queue costs one round trip a fetch, as with Dramatiq alone. When a
        # higher band fills up again, this fetch may also bring up to `wanted` messages of
        # the lower bands it asked: they wait in memory behind the higher ones.
        pipe = self.broker.client.pipeline(transaction=False)
        for queue in self.bands[: self.reach + 1]:
            self.broker.fetch_in(pipe, queue, wanted)
        try:
            replies = pipe.execute()
        except redis.exceptions.NoScriptError:
            self.broker.load()  # Redis restarted and lost the script: fetch at the next poll
            return []
        fetched: list[bytes] = []
        found = None
        for index, reply in enumerate(replies):
            if reply and found is None:
                found = index
            fetched += reply
        for index in range(self.reach + 1, len(self.bands)):
            if len(fetched) >= wanted:
                break
            reply = self.broker.do_fetch(self.bands[index], wanted - len(fetched))
            if reply and found is None:
                found = index
            fetched += reply
        # Nothing anywhere: all bands in the next poll's one round trip.
        self.reach = len(self.bands) - 1 if found is None else found
        return fetched

    def ack(self, message: MessageProxy) -> None:
        if message.options.pop(ACKED, False):
            self.queued_message_ids.discard(message.message_id)
            return
        self._each([message], "ack")

    def nack(self, message: MessageProxy) -> None:
        self._each([message], "nack")

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        by_queue: dict[str, list[str]] = {}
        for message in messages:
            by_queue.setdefault(message.queue_name, []).append(message.options["redis_message_id"])
        for queue, ids in by_queue.items():
            self.broker.do_requeue(queue, *ids)

    def _each(self, messages: list[MessageProxy], command: str) -> None:
        dispatch = getattr(self.broker, f"do_{command}")
        try:
            for message in messages:
                dispatch(message.queue_name, message.options["redis_message_id"])
        except redis.ConnectionError as error:
            raise ConnectionClosed(error) from None  # type: ignore[no-untyped-call]
        finally:
            for message in messages:
                self.queued_message_ids.discard(message.message_id)


class DramatiqBackend:
    """Tasks on Redis through Dramatiq (see the module docstring)::

    backend = DramatiqBackend("redis://127.0.0.1:6379/0")
    backend.send([TaskMessage.new("app.add", [1, 2], {})])
    backend.get(message.id).state          # "pending"
    """

    #: The backend's name in messages and the worker's banner.
    name = "redis"

    def __init__(self, url: str, *, visibility_timeout: float = 60.0) -> None:
        server, options = _split(url, visibility_timeout)
        self.url = server
        #: The server, for messages: without a password.
        self.where = _shown(server)
        try:
            self.visibility_timeout = float(options["visibility_timeout"])
            keep = int(options["keep"])
            #: Seconds a successful round trip vouches for Redis (see the module docstring).
            self.check_every = float(options["check_every"])
        except ValueError:
            raise ValueError(
                f"KETTLE_TASKS_URL {url!r}: visibility_timeout, keep and check_every must be "
                "numbers of seconds, e.g. ?visibility_timeout=60&keep=604800&check_every=1"
            ) from None
        self.namespace = options["namespace"]
        # PERF: one connection pool per process, made once; a send is two round trips.
        pool = redis.ConnectionPool.from_url(
            server, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=10.0
        )
        self.client = redis.Redis(connection_pool=pool)
        self.broker = self._broker()
        self.store = RedisStore(self.client, namespace=self.namespace, keep=keep)
        self._loaded = False
        #: When (``time.monotonic``) Redis last answered; -inf after a failure.
        self._answered = float("-inf")
        self._outbox = Outbox(self.send, self.where)

    def _broker(self) -> _Broker:
        return _Broker(
            self.client, f"{self.namespace}:dramatiq", int(self.visibility_timeout * 1000)
        )

    def _unavailable(self, error: Exception) -> TasksUnavailable:
        self._answered = float("-inf")  # the next enqueue in a unit of work pings again
        return TasksUnavailable(
            f"the task broker (Redis at {self.where}) cannot be reached ({error}); nothing was "
            "enqueued. Start Redis or fix KETTLE_TASKS_URL."
        )

    def send(self, messages: Sequence[TaskMessage]) -> list[str]:
        """Store and queue ``messages`` (all or none of them: one Redis transaction); their
        task ids (a message whose unique key is held gets the holder's id).
        ``TasksUnavailable`` while Redis is down."""
        ids = []
        try:
            chosen = []
            for message in messages:
                holder = self.store.claim_unique(message)
                ids.append(holder or message.id)
                # NOTE: only a message with an eta can come twice under one id (each
                # worker's scheduler sends every tick); plain enqueues skip the check.
                if holder is None and (message.eta is None or self.store.first(message)):
                    chosen.append(message)
            try:
                self._write(chosen)
            except redis.exceptions.NoScriptError:
                # Redis restarted (or flushed its scripts): load it and write them again
                # (the records' commands ran; writing them twice is harmless).
                self.broker.load()
                self._write(chosen)
            self._answered = time.monotonic()
            return ids
        except DOWN as error:
            for message in messages:
                self._release(message)
            raise self._unavailable(error) from None

    def _write(self, messages: list[TaskMessage]) -> None:
        if not self._loaded:
            self.broker.load()
            self._loaded = True
        # PERF: the records and the messages go in one MULTI: one round trip in all.
        pipe = self.client.pipeline(transaction=True)
        for message in messages:
            payload = encode(message)  # PERF: once, for the record and the carrier
            self.store.add(message, pipe, payload)
            self._enqueue(message, pipe, payload)
        pipe.execute()

    def _release(self, message: TaskMessage) -> None:
        with contextlib.suppress(*DOWN):  # down: the key expires after `keep`
            self.store.release_unique(message)

    def _enqueue(self, message: TaskMessage, pipe: Any = None, payload: bytes = b"") -> None:
        delay = None
        if message.eta is not None:
            delay = max(0, int((message.eta - utcnow()).total_seconds() * 1000))
        index = band(message.priority)
        queue_name = message.queue + BANDS[index]
        text = (payload or encode(message)).decode()
        if pipe is None:
            carrier: Message[Any] = Message(
                queue_name=queue_name,
                actor_name=actor_name(message.queue, index),
                args=(text,),
                kwargs={},
                options={},
            )
            self.broker.enqueue(carrier, delay=delay or None)
        else:
            actor = actor_name(message.queue, index)
            self.broker.enqueue_in(pipe, queue_name, actor, text, delay or None)

    async def asend(self, messages: Sequence[TaskMessage]) -> list[str]:
        """``send`` for async callers (in a thread: Dramatiq's client is synchronous)."""
        return await asyncio.to_thread(self.send, messages)

    def answered_lately(self) -> bool:
        """Whether Redis answered within ``check_every`` seconds, nothing failing since:
        then an enqueue in a unit of work needs no PING (see the module docstring)::

            if not backend.answered_lately():
                backend.check()
        """
        # PERF: one clock read instead of a round trip for nearly every enqueue of a busy
        # app; an idle one pings once per `check_every`.
        return time.monotonic() - self._answered < self.check_every

    def send_committed(self, messages: Sequence[TaskMessage]) -> None:
        """``send`` for a unit of work that committed: never raises; while Redis is down
        the messages wait in this process and go out when it answers (``_outbox``)::

            on_commit(lambda: backend.send_committed([message]))
        """
        try:
            self.send(messages)
        except TasksUnavailable:
            self._outbox.add(messages)

    def get(self, task_id: str) -> TaskRecord | None:
        """The task's record, or None when unknown or expired (after ``keep`` seconds)."""
        try:
            return self.store.get(task_id)
        except DOWN as error:
            raise self._unavailable(error) from None

    async def aget(self, task_id: str) -> TaskRecord | None:
        """``get`` for async callers."""
        return await asyncio.to_thread(self.get, task_id)

    def check(self) -> None:
        """Raise ``TasksUnavailable`` when Redis cannot be reached."""
        try:
            self.client.ping()
        except DOWN as error:
            raise self._unavailable(error) from None
        self._answered = time.monotonic()

    def worker(self, registry: Registry, *, queues: Sequence[str], concurrency: int) -> WorkerLoop:
        """A Dramatiq worker over ``queues`` with ``concurrency`` threads."""
        return DramatiqLoop(self, registry, queues=queues, concurrency=concurrency)

    # The management methods (ManagedBackend): records are in Redis, so all four work.

    def list(self, state: State | None = None, limit: int = 50) -> list[TaskRecord]:
        """The newest ``limit`` tasks (in ``state`` if given), newest first."""
        return self.store.list(state, limit)

    def retry(self, task_id: str) -> bool:
        """Queue a failed or cancelled task again, its attempts starting over."""
        message = self.store.message(task_id)
        if message is None:
            return False
        fresh = msgspec.structs.replace(message, attempt=0, eta=None)
        moved = self.store.move(
            task_id,
            to="pending",
            allowed=("failed", "cancelled"),
            fields={"attempts": 0, "message": encode(fresh), "error": "", "traceback": ""},
        )
        if moved is None:
            return False
        self._enqueue(fresh)
        return True

    def cancel(self, task_id: str) -> bool:
        """Cancel a pending task: a worker that takes its message drops it."""
        message = self.store.message(task_id)
        moved = self.store.move(task_id, to="cancelled", allowed=("pending",))
        if moved is not None and message is not None:
            self.store.release_unique(message)
        return moved is not None

    def purge(self, state: State) -> int:
        """Delete the records of every task in ``state`` (queued messages of cancelled or
        purged tasks are dropped by the worker that takes them)."""
        return self.store.purge(state)


@dataclass
class Counts:
    """Runs finished by one worker (``reclaimed`` stays 0: Redis requeues a dead worker's
    tasks without telling which worker takes them)."""

    done: int = 0
    failed: int = 0
    retried: int = 0
    reclaimed: int = 0


class DramatiqLoop:
    """One ``kettle worker`` on Dramatiq: its worker threads run Kettle messages::

    loop = backend.worker(registry, queues=["default"], concurrency=8)
    loop.run()          # until loop.stop(grace=30)
    """

    def __init__(
        self,
        backend: DramatiqBackend,
        registry: Registry,
        *,
        queues: Sequence[str],
        concurrency: int,
    ) -> None:
        self.backend = backend
        self.registry = registry
        self.queues = list(queues)
        self.concurrency = concurrency
        self.store = backend.store
        # A broker of its own: its id is this worker's heartbeat in Redis. It tells the
        # actor which Dramatiq message it runs, to acknowledge it with the outcome.
        self.broker = backend._broker()
        self.broker.add_middleware(CurrentMessage())
        # One actor per band: its Dramatiq priority orders the prefetched messages (a
        # lower number runs first). Only the plain queues get consumers (the `queues` of
        # the Worker below); each of those reads all the bands of its queue (_Consumer).
        for queue in self.queues:
            for index, _ in enumerate(BANDS):
                Actor(
                    self._execute,
                    broker=self.broker,
                    actor_name=actor_name(queue, index),
                    queue_name=queue + BANDS[index],
                    priority=index,
                    options={},
                )
        self._stopping = threading.Event()
        self._grace = 30.0
        self._loop = asyncio.new_event_loop()
        #: How many runs this worker finished, by outcome (the status line shows them).
        self.counts = Counts()
        #: The ids of the tasks running now.
        self.running: set[str] = set()
        self._held = HeldWrites(lambda writes: self._persist(self._write, writes), HOLD_OUTCOME)

    def run(self) -> None:
        """Consume until ``stop``; then finish running tasks within the grace period and
        put the prefetched ones back in Redis."""
        self._persist(self._load)
        loop_thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        loop_thread.start()
        worker = Worker(self.broker, queues=set(self.queues), worker_threads=self.concurrency)
        worker.consumers = _ConsumersByBand()
        self._held.start()
        worker.start()
        beat = max(0.2, self.backend.visibility_timeout / 4)
        try:
            while not self._stopping.wait(beat):
                self._maintain()
        finally:
            worker.stop(timeout=int(self._grace * 1000))
            self._held.stop()  # the outcomes (and acknowledgements) still held
            self._loop.call_soon_threadsafe(self._loop.stop)

    def stop(self, grace: float) -> None:
        """Ask ``run`` to return (thread-safe; callable from a signal handler)."""
        self._grace = grace
        self._stopping.set()

    def _maintain(self) -> None:
        # The heartbeat of this worker (Dramatiq only sends one when it fetches, which a
        # worker busy with long tasks does not do) and the requeueing of dead workers' tasks.
        for queue in self.queues:
            try:
                for name in band_queues(queue) + band_queues(dq_name(queue)):
                    self.broker.do_qsize(name)
            except DOWN as error:
                logger.warning("Redis unreachable from the worker (%s); retrying", error)
                return

    def _execute(self, payload: str) -> None:
        try:
            message = decode(payload)
        except msgspec.DecodeError as error:
            # Not a Kettle message at all: nothing to record it under.
            logger.error("dropped a message that is not a Kettle task: %s", error)
            return
        carrier = CurrentMessage.get_current_message()
        # PERF: this thread's previous outcome goes in the same round trip as this start.
        previous = self._held.take()
        writes = [] if previous is None else [previous]
        if not self._persist(self._write, writes, message):
            return  # cancelled, purged or expired while it waited
        self.running.add(message.id)
        try:
            outcome = self._run(message)
        finally:
            self.running.discard(message.id)
        if outcome.state == "retry":
            self.counts.retried += 1
        elif outcome.state == "done":
            self.counts.done += 1
        else:
            self.counts.failed += 1
        write = functools.partial(self._outcome, message, outcome, carrier)
        if carrier is not None:
            carrier.options[ACKED] = True  # the outcome's write acknowledges it
        if message.unique_key is None or outcome.state == "retry":
            self._held.hold(write)
            return
        self._persist(self._write, [write])
        self.store.release_unique(message)  # once the outcome is written

    def _run(self, message: TaskMessage) -> Outcome:
        if message.name in self.registry and self.registry[message.name].is_async:
            # Async tasks share one event loop (their connection pools live on it).
            future = asyncio.run_coroutine_threadsafe(self.registry.arun(message), self._loop)
            return future.result()
        return self.registry.run(message)

    def _outcome(self, message: TaskMessage, outcome: Outcome, carrier: Any, pipe: Any) -> None:
        # The outcome, a retry's new message and Dramatiq's acknowledgement, as commands
        # of `pipe`: written in one MULTI, so a task is never acknowledged without them.
        if outcome.state == "retry":
            again = msgspec.structs.replace(
                message, attempt=message.attempt + 1, eta=outcome.retry_at
            )
            self.store.requeued(again, outcome.error, outcome.traceback, pipe=pipe)
            self.backend._enqueue(again, pipe)
        else:
            self.store.finished(
                message,
                outcome.state,
                result=outcome.result,
                error=outcome.error,
                traceback=outcome.traceback,
                pipe=pipe,
            )
        if carrier is not None:
            self.broker.ack_in(pipe, carrier)

    def _write(self, writes: list[Write], start: TaskMessage | None = None) -> bool:
        """Held outcomes and, if given, a task's start, in one MULTI (one round trip);
        False when the task must not start (cancelled, finished or expired)."""
        pipe = self.backend.client.pipeline(transaction=True)
        for write in writes:
            write(pipe)
        if start is not None:
            self.store.started(start, pipe=pipe)
        if not writes and start is None:
            return True
        try:
            replies = pipe.execute()
        except redis.exceptions.NoScriptError:
            self._load()  # Redis restarted: its scripts are gone; write it all again
            raise
        return start is None or replies[-1] is not None

    def _load(self) -> None:
        self.store.load()
        self.broker.load()

    def _persist(self, write: Any, *args: Any) -> bool:
        # Redis may be down for a while: keep trying (as Dramatiq does with its acks)
        # rather than lose an outcome; the message stays unacknowledged meanwhile.
        delay = 0.1
        while True:
            try:
                return bool(write(*args))
            except redis.exceptions.NoScriptError:
                continue  # _write loaded the scripts again
            except DOWN as error:
                logger.warning("Redis unreachable while recording a task (%s); retrying", error)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)


__all__ = ["BANDS", "DramatiqBackend", "DramatiqLoop", "band", "band_queues"]
