"""Presence (Supabase / Phoenix Presence): who is on a channel, across server processes.

State lives in one place per topic: with `REDIS_URL` a Redis hash per (private, topic), one
field per tracking channel (`<process>|<socket>`) holding `{key, meta}`; without it a dict of
this process. Changes travel as `presence_diff` bodies on the bus (`{"presence": {topic,
private, joins, leaves}}`), so every process' dispatcher hands them to its sockets on that topic,
in bus order.

A process that dies leaves its fields behind: each process refreshes `…:alive:<process>` with a
TTL (`REALTIME_PRESENCE_TTL_SECONDS`, 15 s) every third of it, and sweeps the topics its sockets
are on at the same pace: fields of a process whose key expired are deleted and their leaves
published (by whoever deleted them: HDEL answers once). So a dead process' presences leave
within about 1.3 × the TTL. Every operation runs on one worker task per dispatcher, in order.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import orjson
from django.conf import settings

from echelon.outage import one_line
from realtime import bus

log = logging.getLogger(__name__)

_memory: dict[tuple, dict[str, bytes]] = {}  # no Redis: (private, topic) → field → entry, this process


def ttl_seconds() -> float:
    return float(getattr(settings, "REALTIME_PRESENCE_TTL_SECONDS", 15))


def _hash_name(private: bool, topic: str) -> str:
    return f"{bus.channel_name()}:presence:{int(private)}:{topic}"


def _alive_name(owner: str) -> str:
    return f"{bus.channel_name()}:presence:alive:{owner}"


def state_of(entries) -> dict:
    """Phoenix's presence state `{key: {metas: [...]}}` from stored entries."""
    state: dict = {}
    for raw in entries:
        entry = orjson.loads(raw)
        state.setdefault(entry["key"], {"metas": []})["metas"].append(entry["meta"])
    return state


def diff_message(private: bool, topic: str, joins: dict, leaves: dict) -> bytes:
    return orjson.dumps({"presence": {"topic": topic, "private": private, "joins": joins, "leaves": leaves}})


class Presence:
    """The presence store of one dispatcher (one event loop)."""

    def __init__(self, dispatcher) -> None:
        self.dispatcher = dispatcher
        self.owner = uuid.uuid4().hex  # this dispatcher, in field names and its alive key
        self.queue: asyncio.Queue = asyncio.Queue()
        self.redis = None
        self._task = None

    def start(self, loop) -> None:
        url = bus.redis_url()
        if url:
            import redis.asyncio as aioredis

            self.redis = aioredis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
            self.dispatcher._tasks.append(loop.create_task(self._keep_alive()))
        self._task = loop.create_task(self._work())
        self.dispatcher._tasks.append(self._task)

    def field(self, socket, channel) -> str:
        return f"{self.owner}|{socket.id}|{channel.topic}"

    # --- operations, in order on the worker -----------------------------------------------------
    def submit(self, operation, *args) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((operation, args, future))
        return future

    async def _work(self) -> None:
        while True:
            operation, args, future = await self.queue.get()
            try:
                result = await operation(*args)
                if not future.done():
                    future.set_result(result)
            except Exception as exc:  # noqa: BLE001 - Redis down: presence degrades, sockets go on
                log.warning("realtime: presence %s failed (%s)", operation.__name__, one_line(exc))
                if not future.done():
                    future.set_result(None)
            finally:
                self.queue.task_done()

    async def put(self, private: bool, topic: str, field: str, key: str, meta: dict, old: dict | None) -> None:
        entry = orjson.dumps({"key": key, "meta": meta})
        if self.redis is not None:
            await self.redis.hset(_hash_name(private, topic), field, entry)
        else:
            _memory.setdefault((private, topic), {})[field] = entry
        leaves = {key: {"metas": [old]}} if old is not None else {}
        await bus.publish_async(diff_message(private, topic, {key: {"metas": [meta]}}, leaves))

    async def remove(self, private: bool, topic: str, field: str, key: str, meta: dict) -> None:
        if self.redis is not None:
            removed = await self.redis.hdel(_hash_name(private, topic), field)
        else:
            entries = _memory.get((private, topic), {})
            removed = entries.pop(field, None) is not None
            if not entries:
                _memory.pop((private, topic), None)
        if removed:
            await bus.publish_async(diff_message(private, topic, {}, {key: {"metas": [meta]}}))

    async def state(self, private: bool, topic: str) -> dict:
        """The topic's presences, without those of dead processes (left here, if not yet)."""
        if self.redis is None:
            return state_of(list(_memory.get((private, topic), {}).values()))
        fields = await self._leave_dead(private, topic)
        return state_of(fields.values())

    # --- a dead process' presences leave ----------------------------------------------------------
    async def _keep_alive(self) -> None:
        while True:
            try:
                await self.redis.set(_alive_name(self.owner), b"1", ex=max(1, round(ttl_seconds())))
            except Exception as exc:  # noqa: BLE001 - Redis down: retried next time
                log.warning("realtime: presence keep-alive failed (%s)", one_line(exc))
            self.queue.put_nowait((self._sweep, (), asyncio.get_running_loop().create_future()))
            await asyncio.sleep(ttl_seconds() / 3)

    async def _sweep(self) -> None:
        """Leave the presences of processes whose alive key expired, on the topics of our sockets."""
        for private, topic in list(self.dispatcher.by_topic):
            await self._leave_dead(private, topic)

    async def _leave_dead(self, private: bool, topic: str) -> dict:
        """Delete the topic's fields of processes whose alive key expired and send their leaves
        (whoever deletes a field sends its leave: HDEL answers 1 once); → the fields left."""
        name = _hash_name(private, topic)
        fields = await self.redis.hgetall(name)
        owners = {raw.decode().split("|", 1)[0] for raw in fields} - {self.owner}
        dead = {owner for owner in owners if not await self.redis.exists(_alive_name(owner))}
        for raw in [raw for raw in fields if raw.decode().split("|", 1)[0] in dead]:
            entry = fields.pop(raw)
            if await self.redis.hdel(name, raw):
                item = orjson.loads(entry)
                await bus.publish_async(diff_message(private, topic, {}, {item["key"]: {"metas": [item["meta"]]}}))
        return fields
