"""Where the distributed backend keeps task state: one Redis hash per task, with a TTL.

The engine (Dramatiq) only moves messages; what ``TaskHandle.refresh``, ``kettle tasks`` and
the admin show lives here, in the same Redis as the queues:

- ``<ns>:task:<id>``: a hash (name, state, attempts, queue, times, result, error, traceback
  and the message itself, so a failed task can be retried), expiring ``keep`` seconds after
  its last change;
- ``<ns>:state:<state>``: a sorted set of task ids by enqueue time, for listing by state;
- ``<ns>:unique:<key>``: the id of the pending or running task holding a unique key;
- ``<ns>:alias:<id>``: for an enqueue that collapsed into an existing task, that task's id.

Every state change is one Lua script (``move``), so a worker starting a task and
``kettle tasks cancel`` cannot both win::

    store = RedisStore(redis.Redis(), namespace="kettle", keep=7 * 86400)
    store.move("4f1c...", to="cancelled", allowed=("pending",))   # True once, then False
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
import redis

from kettle.tasks._backend import TaskRecord
from kettle.tasks._message import STATES, State, TaskMessage, encode, utcnow

# KEYS: task hash, then the state index prefix. ARGV: id, new state, allowed states
# (comma-separated, "" = any), ttl seconds, then field/value pairs to set.
# Returns the previous state, or false when the task is missing or in another state.
_MOVE = """
local old = redis.call('HGET', KEYS[1], 'state')
if not old then return false end
if ARGV[3] ~= '' and not string.find(',' .. ARGV[3] .. ',', ',' .. old .. ',', 1, true) then
  return false
end
local score = redis.call('ZSCORE', KEYS[2] .. old, ARGV[1]) or ARGV[5]
redis.call('ZREM', KEYS[2] .. old, ARGV[1])
redis.call('ZADD', KEYS[2] .. ARGV[2], score, ARGV[1])
redis.call('HSET', KEYS[1], 'state', ARGV[2])
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return old
"""

_result_encoder = msgspec.json.Encoder()


def _stamp(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


def _time(text: bytes | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.decode()) if text else None


class RedisStore:
    """Task records in Redis (see the module docstring)::

    store = RedisStore(client, namespace="kettle", keep=86400)
    store.add(message)
    store.get(message.id).state   # "pending"
    """

    def __init__(self, client: redis.Redis, *, namespace: str, keep: int) -> None:
        # NOTE: redis-py types every sync command as ``T | Awaitable[T]``; the store only
        # ever holds a sync client, so it talks to it untyped rather than cast each reply.
        self.client: Any = client
        self.namespace = namespace
        self.keep = keep
        self._move = client.register_script(_MOVE)

    def _key(self, task_id: str) -> str:
        return f"{self.namespace}:task:{task_id}"

    def _index(self, state: str) -> str:
        return f"{self.namespace}:state:{state}"

    def claim_unique(self, message: TaskMessage) -> str | None:
        """Hold ``message.unique_key`` for ``message``; the id of the task already holding
        it, or None when this one now does (also when the message has no key)."""
        if message.unique_key is None:
            return None
        key = f"{self.namespace}:unique:{message.unique_key}"
        while True:
            if self.client.set(key, message.id, nx=True, ex=self.keep):
                return None
            holder = self.client.get(key)
            if holder == message.id.encode():
                return None  # this very message (a send tried again)
            if holder is not None:
                alias = f"{self.namespace}:alias:{message.id}"
                self.client.set(alias, holder, ex=self.keep)
                return str(holder.decode())
            # The holder finished between SET and GET: try to take the key again.

    def release_unique(self, message: TaskMessage) -> None:
        """Let the next enqueue with this unique key start a new task."""
        if message.unique_key is not None:
            key = f"{self.namespace}:unique:{message.unique_key}"
            # Only the holder releases: a later task may hold the key by now.
            if self.client.get(key) == message.id.encode():
                self.client.delete(key)

    def add(self, message: TaskMessage, pipe: Any, encoded: bytes = b"") -> None:
        """Record ``message`` as pending, as commands of ``pipe`` (``encoded``: the
        message's JSON, when the caller has it already)."""
        key = self._key(message.id)
        pipe.hset(
            key,
            mapping={
                "name": message.name,
                "state": "pending",
                "attempts": message.attempt,
                "queue": message.queue,
                "enqueued_at": message.enqueued_at.isoformat(),
                "message": encoded or encode(message),
            },
        )
        pipe.expire(key, self.keep)
        pipe.zadd(self._index("pending"), {message.id: message.enqueued_at.timestamp()})

    def move(
        self,
        task_id: str,
        *,
        to: State,
        allowed: Iterable[State] = (),
        fields: Mapping[str, str | int | bytes] | None = None,
        pipe: Any = None,
    ) -> State | None:
        """Change a task's state if it is in one of ``allowed`` (any when empty), setting
        ``fields`` too; the previous state, or None when the task was not moved. With
        ``pipe``, the change is one more command of that pipeline (and None is returned)."""
        args: list[str | int | float | bytes] = [
            task_id,
            to,
            ",".join(allowed),
            self.keep,
            utcnow().timestamp(),
        ]
        for name, value in (fields or {}).items():
            args += [name, value]
        keys = [self._key(task_id), f"{self.namespace}:state:"]
        if pipe is not None:
            # PERF: EVALSHA, not the Script object, which would add a SCRIPT EXISTS round
            # trip to the pipeline (``load`` put the script in Redis).
            pipe.evalsha(self._move.sha, len(keys), *keys, *args)
            return None
        old = self._move(keys=keys, args=args)
        return None if old is None else old.decode()

    def load(self) -> None:
        """Load the state-change script into Redis (before pipelining it)."""
        self.client.script_load(_MOVE)

    def started(self, message: TaskMessage, pipe: Any = None) -> bool:
        """Mark a task running (attempts counted); False when it was cancelled, finished or
        expired, and must not run. With ``pipe``, one more command of it, whose reply is
        false in that case (and True is returned)."""
        moved = self.move(
            message.id,
            to="running",
            allowed=("pending", "running"),
            fields={"attempts": message.attempt + 1, "started_at": _stamp(utcnow())},
            pipe=pipe,
        )
        return pipe is not None or moved is not None

    def finished(
        self,
        message: TaskMessage,
        state: State,
        *,
        result: Any = None,
        error: str | None = None,
        traceback: str | None = None,
        pipe: Any = None,
    ) -> None:
        """Record a task's final state and outcome (in ``pipe``, if given)."""
        fields: dict[str, str | int | bytes] = {"finished_at": _stamp(utcnow())}
        if state == "done":
            fields["result"] = _result_encoder.encode(result)
        if error is not None:
            fields["error"] = error
            fields["traceback"] = traceback or ""
        self.move(message.id, to=state, allowed=("running",), fields=fields, pipe=pipe)

    def requeued(
        self, message: TaskMessage, error: str | None, traceback: str | None, pipe: Any = None
    ) -> None:
        """Record that a failed run will be retried with ``message`` (the next attempt)."""
        self.move(
            message.id,
            pipe=pipe,
            to="pending",
            allowed=("running",),
            fields={
                "error": error or "",
                "traceback": traceback or "",
                "message": encode(message),
            },
        )

    def message(self, task_id: str) -> TaskMessage | None:
        """The message a task was last enqueued with (for ``retry``)."""
        from kettle.tasks._message import decode

        data = self.client.hget(self._key(task_id), "message")
        return None if data is None else decode(data)

    def get(self, task_id: str) -> TaskRecord | None:
        """The task's record, or None when unknown or expired."""
        fields = self.client.hgetall(self._key(task_id))
        if not fields:
            alias = self.client.get(f"{self.namespace}:alias:{task_id}")
            if alias is None:
                return None
            fields = self.client.hgetall(self._key(alias.decode()))
            if not fields:
                return None
            task_id = alias.decode()
        return self._record(task_id, fields)

    @staticmethod
    def _record(task_id: str, fields: Mapping[bytes, bytes]) -> TaskRecord:
        result = fields.get(b"result")
        return TaskRecord(
            id=task_id,
            name=fields[b"name"].decode(),
            state=fields[b"state"].decode(),  # type: ignore[arg-type]
            attempts=int(fields.get(b"attempts", b"0")),
            result=None if result is None else msgspec.json.decode(result),
            error=fields[b"error"].decode() if fields.get(b"error") else None,
            traceback=fields[b"traceback"].decode() if fields.get(b"traceback") else None,
            queue=fields.get(b"queue", b"default").decode(),
            enqueued_at=_time(fields.get(b"enqueued_at")),
            started_at=_time(fields.get(b"started_at")),
            finished_at=_time(fields.get(b"finished_at")),
        )

    def list(self, state: State | None, limit: int) -> list[TaskRecord]:
        """The newest ``limit`` records (in ``state`` if given), newest first."""
        states = STATES if state is None else (state,)
        pipe = self.client.pipeline(transaction=False)
        for name in states:
            pipe.zrevrange(self._index(name), 0, limit - 1, withscores=True)
        newest = sorted(
            ((score, member.decode()) for rows in pipe.execute() for member, score in rows),
            reverse=True,
        )[:limit]
        records: list[TaskRecord] = []
        stale: list[str] = []
        pipe = self.client.pipeline(transaction=False)
        for _, task_id in newest:
            pipe.hgetall(self._key(task_id))
        for (_, task_id), fields in zip(newest, pipe.execute(), strict=True):
            if fields:
                records.append(self._record(task_id, fields))
            else:
                stale.append(task_id)  # expired: drop it from the index too
        if stale:
            for name in states:
                self.client.zrem(self._index(name), *stale)
        return records

    def purge(self, state: State) -> int:
        """Delete every record in ``state``; how many there were."""
        index = self._index(state)
        deleted = 0
        while ids := [member.decode() for member in self.client.zrange(index, 0, 999)]:
            pipe = self.client.pipeline(transaction=True)
            for task_id in ids:
                pipe.delete(self._key(task_id))
            pipe.zrem(index, *ids)
            results = pipe.execute()
            deleted += sum(results[:-1])
        return deleted

    def first(self, message: TaskMessage) -> bool:
        """True for the first send of ``message.id`` only (the ticks of a periodic task,
        which every worker's scheduler sends under the same id)."""
        key = f"{self.namespace}:sent:{message.id}"
        return bool(self.client.set(key, b"1", nx=True, ex=self.keep))
