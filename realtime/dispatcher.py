"""One dispatcher per server process (per event loop): the bus → the local sockets, in memory.

Changes arrive serialized once (one Redis subscription per process, or the in-process bus),
are decoded once, and are matched against every local socket: the audiences of the change's
variants (one per reader kind that sees other columns, computed by the writer from the policy;
a socket gets the first that admits it) against the socket's user and teams, then each
subscription's event and filter, matched on the record of the socket's variant.
A `user_roles` change updates the team ids of that user's sockets BEFORE later changes are
delivered, so a lost membership stops team pushes at once on every socket of every process.
Everything runs in one worker task, so changes are handled in bus order.

Positions make the stream whole: every change carries the relay's position (commit order). A
change already handled is dropped; a jump means messages were lost (Redis was down, a relay
died between its commit and its publish) and the missing positions are read from the change log
(`realtime_change_log`) before going on; every `REALTIME_CATCHUP_SECONDS` the log is checked for
changes past the last one handled, so a lost tail arrives too: late, never lost. A socket that
joins with `config.since` gets the changes it missed from the log at one point of the stream
(`replay`), then the live ones, without a gap or a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

import orjson

from django.conf import settings

from accounts.models import UserRole
from echelon.outage import one_line
from echelon.policy import Audience
from echelon.serving import metrics
from realtime import bus
from realtime.models import ChangeLog, RelayState
from realtime.presence import Presence

log = logging.getLogger(__name__)

_by_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
CATCH_UP_ROWS = 50_000  # changes read from the log at once (a resume past that refetches over REST)


def dispatchers() -> list:
    """The dispatchers of this process (one per event loop), e.g. to count or drain sockets."""
    return list(_by_loop.values())


class Dispatcher:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue()
        self.sockets: set = set()
        self.by_table: dict[str, set] = {}
        self.by_user: dict[str, set] = {}
        self.by_topic: dict[tuple, set] = {}  # (private, topic) → sockets joined (broadcast, presence)
        self.ready = asyncio.Event()
        self.subscribed = False  # to Redis right now; if not, the bus delivers this process' writes in memory
        self.position: int | None = None  # the last change handled (None until read from the log)
        self._log_unreadable = False
        self._tasks: list[asyncio.Task] = []
        self.presence = Presence(self)

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._tasks.append(self.loop.create_task(self._begin()))

    async def _begin(self) -> None:
        try:  # changes committed before this are not owed to sockets that join from now on
            self.position, _ = await _relay_state()
        except Exception as exc:  # noqa: BLE001 - the database is down: positions start with the first change
            log.warning("realtime: change log unreadable at start (%s)", one_line(exc))
        self._tasks.append(self.loop.create_task(self._work()))
        self._tasks.append(self.loop.create_task(self._catch_up_periodically()))
        self.presence.start(self.loop)
        url = bus.redis_url()
        bus.attach_local(self)  # with Redis too: the fallback while Redis is unreachable (see bus)
        if url:
            self._tasks.append(self.loop.create_task(self._listen(url)))
        else:
            self.ready.set()

    async def _catch_up_periodically(self) -> None:
        while True:
            await asyncio.sleep(catch_up_seconds())
            self.queue.put_nowait(_CATCH_UP)

    async def _listen(self, url: str) -> None:
        """The process' single Redis subscription; reconnects after a failure."""
        import redis.asyncio as aioredis

        delay = 0.5
        while True:
            client = aioredis.Redis.from_url(url)
            try:
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(bus.channel_name())
                self.subscribed = True
                self.ready.set()
                if delay > 0.5:
                    log.warning("realtime: Redis subscription restored")
                    self.queue.put_nowait(_CATCH_UP)  # what other processes wrote meanwhile
                delay = 0.5
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None and message.get("type") == "message":
                        self.queue.put_nowait(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down: sockets still get this process' writes
                self.subscribed = False
                self.ready.set()  # sockets may join meanwhile (single-process delivery)
                log.warning("realtime: Redis subscription lost (%s: %s); retrying in %.1fs",
                            type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)
            finally:
                self.subscribed = False
                try:
                    await client.aclose()
                except Exception:  # closing a broken connection
                    pass

    def deliver_threadsafe(self, message: bytes) -> None:
        """In-process bus: called from whatever thread committed the write."""
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, message)
        except RuntimeError:  # loop closed
            bus.detach_local(self)

    # --- sockets ---------------------------------------------------------------------------------
    def add(self, socket) -> None:
        self.sockets.add(socket)
        metrics.REALTIME_SOCKETS.set(len(self.sockets))
        self.by_user.setdefault(socket.identity.user_id, set()).add(socket)

    def remove(self, socket) -> None:
        self.sockets.discard(socket)
        metrics.REALTIME_SOCKETS.set(len(self.sockets))
        self._unindex_tables(socket)
        self._unindex_topics(socket)
        users = self.by_user.get(socket.identity.user_id)
        if users is not None:
            users.discard(socket)
            if not users:
                del self.by_user[socket.identity.user_id]

    def change_user(self, socket, old_user_id: str) -> None:
        users = self.by_user.get(old_user_id)
        if users is not None:
            users.discard(socket)
            if not users:
                del self.by_user[old_user_id]
        self.by_user.setdefault(socket.identity.user_id, set()).add(socket)

    @staticmethod
    def _unindex(index: dict, socket, keys) -> None:
        for key in keys:
            holders = index.get(key)
            if holders is not None:
                holders.discard(socket)
                if not holders:
                    del index[key]

    def _unindex_tables(self, socket) -> None:
        self._unindex(self.by_table, socket, socket.indexed_tables)
        socket.indexed_tables = set()

    def _unindex_topics(self, socket) -> None:
        self._unindex(self.by_topic, socket, socket.indexed_topics)
        socket.indexed_topics = set()

    def reindex(self, socket) -> None:
        """Call after the socket's subscriptions or channels changed."""
        self._unindex_tables(socket)
        tables = socket.subscribed_tables()
        for table in tables:
            self.by_table.setdefault(table, set()).add(socket)
        socket.indexed_tables = tables
        self._unindex_topics(socket)
        topics = socket.joined_topics()
        for key in topics:
            self.by_topic.setdefault(key, set()).add(socket)
        socket.indexed_topics = topics

    # --- the fan-out -------------------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            raw = await self.queue.get()
            try:
                await self.handle(raw)
            except Exception:
                log.exception("realtime: could not dispatch a change")

    async def handle(self, raw) -> None:
        if raw is _CATCH_UP:
            await self._catch_up()
            return
        if isinstance(raw, _Replay):
            await self._replay(raw)
            return
        message = orjson.loads(raw)
        if "broadcast" in message:
            await self.fan_out_topic(message["broadcast"], "push_broadcast")
            return
        if "presence" in message:
            await self.fan_out_topic(message["presence"], "push_presence")
            return
        first, through = message.get("from"), message.get("through")
        if first is not None and self.position is not None and first > self.position + 1:
            await self._catch_up(before=first)  # messages before this one were lost
        for change in message.get("changes", (message,)):
            await self.handle_change(change, whole=first is not None)
        if through is not None and self.position is not None:
            self.position = max(self.position, through)

    async def handle_change(self, change: dict, whole: bool = False) -> None:
        """`whole`: the change came in a message that holds every pushed change of its range
        of positions, so a jump inside it is changes nobody is told of, not a loss."""
        position = change.get("position")
        if position is not None:
            if self.position is None:  # the log was unreachable at start: go on from here
                self.position = position - 1
            if position <= self.position:
                return  # handled already (read from the log before its bus message arrived)
            if position > self.position + 1 and not whole:
                await self._catch_up(before=position)
            self.position = position
        await self.fan_out(change)

    async def _catch_up(self, before: int | None = None) -> None:
        """Handle the logged changes after the last one handled (and before `before`)."""
        if self.position is None:
            return
        try:
            logged = await _logged_changes(self.position, before)
        except Exception as exc:  # noqa: BLE001 - the database is down: the next look catches up
            if not self._log_unreadable:
                log.warning("realtime: change log unreadable (%s); retrying", one_line(exc))
            self._log_unreadable = True
            return
        if self._log_unreadable:
            log.warning("realtime: change log readable again")
            self._log_unreadable = False
        for change in logged:
            self.position = max(self.position, change["position"])
            await self.fan_out(change)

    def replay(self, socket, channel, since: int) -> None:
        """Queue the changes after `since` for `channel` of `socket` (held from live pushes until then)."""
        self.queue.put_nowait(_Replay(socket, channel, since))

    async def _replay(self, request: _Replay) -> None:
        try:
            position, pruned_through = await _relay_state()
            if self.position is None:
                self.position = position
            expired = request.since < pruned_through
            changes = [] if expired else await _logged_changes(request.since, self.position + 1)
        except Exception as exc:  # noqa: BLE001 - the log is unreadable: the client refetches instead
            log.warning("realtime: could not replay changes after %s (%s)", request.since, one_line(exc))
            expired, changes = True, []
        targets = {request.socket}
        request.channel.held = False
        for change in changes:
            await self.fan_out(change, targets=targets, only=request.channel)
        await request.socket.resumed(request.channel, request.since, len(changes), expired)

    async def fan_out(self, message: dict, targets=None, only=None) -> None:
        table, variants = message["table"], message["variants"]
        if targets is None:  # live: membership and account facts apply first, for everyone
            if table == "user_roles" and variants:
                await self._apply_membership(variants[0]["data"])
            auth = message.get("auth")
            if auth is not None:
                await self._apply_user(auth)
            targets = self.by_table.get(table, set()) | self.by_table.get("*", set())
        if not targets or not variants:
            return
        type_ = message["type"]
        prepared = [_Variant(variant, type_) for variant in variants]
        delivered = 0
        for socket in targets:
            identity = socket.identity
            for variant in prepared:  # the first variant that admits the socket (most specific first)
                if variant.operator:
                    if identity.is_superuser:
                        break
                elif variant.audience.admits(identity.user_id, identity.team_ids, is_superuser=identity.is_superuser):
                    break
            else:
                continue
            pending = ()
            try:
                # written at once under daphne (direct_write); other servers get ASGI sends
                pending = socket.push_change(table, type_, variant.record, variant.old_record, variant.data_json,
                                             variant.frames, only)
                delivered += 1
                for send in pending:
                    await send
            except Exception:  # a socket closing mid fan-out must not cost the others this change
                log.debug("realtime: push to a closing socket failed", exc_info=True)
                for send in pending:
                    send.close()  # the sends not reached (closing an awaited one is a no-op)
        metrics.REALTIME_DELIVERIES.inc(delivered)

    async def fan_out_topic(self, message: dict, push: str) -> None:
        """A broadcast or a presence diff to this process' sockets joined to its topic (encoded
        and framed once per vsn, written directly under daphne as changes are); `push` names the
        socket's method that decides and frames it."""
        frames: dict = {}
        delivered = 0
        for socket in list(self.by_topic.get((message["private"], message["topic"]), ())):
            pending = getattr(socket, push)(message, frames)
            if pending is None:
                continue
            delivered += 1
            try:
                for send in pending:  # none under daphne: written at once
                    await send
            except Exception:  # a socket closing mid fan-out must not cost the others this message
                log.debug("realtime: broadcast to a closing socket failed", exc_info=True)
                for send in pending:
                    send.close()
        metrics.REALTIME_DELIVERIES.inc(delivered)

    async def _apply_membership(self, data: dict) -> None:
        old, new = data.get("old_record") or {}, data.get("record") or {}
        if data["type"] == "UPDATE" and "team_id" not in old and new.get("user_id") in self.by_user:
            # a bulk UPDATE carries only the old primary key: reload that user's teams
            await self._reload_teams(new["user_id"])
            await self._recheck_topics(new["user_id"])
            return
        if data["type"] in ("UPDATE", "DELETE") and old.get("user_id") and old.get("team_id"):
            for socket in self.by_user.get(old["user_id"], ()):
                socket.identity.team_ids.discard(old["team_id"])
            await self._recheck_topics(old["user_id"])
        if data["type"] in ("INSERT", "UPDATE") and new.get("user_id") and new.get("team_id"):
            for socket in self.by_user.get(new["user_id"], ()):
                socket.identity.team_ids.add(new["team_id"])

    async def _recheck_topics(self, user_id: str) -> None:
        """A membership lost or changed: that user's private channels ask their topic policy again
        (before later broadcasts are delivered: this worker handles the bus in order)."""
        for socket in list(self.by_user.get(user_id, ())):
            if socket.has_private_channels():
                await socket.recheck_topics()

    async def _reload_teams(self, user_id: str) -> None:
        from channels.db import database_sync_to_async

        def load() -> set:
            rows = UserRole.objects.filter(user_id=user_id, team_id__isnull=False).values_list("team_id", flat=True)
            return {str(team) for team in rows}

        teams = await database_sync_to_async(load)()
        for socket in self.by_user.get(user_id, ()):
            socket.identity.team_ids = set(teams)

    async def _apply_user(self, auth: dict) -> None:
        sockets = list(self.by_user.get(auth["user_id"], ()))
        for socket in sockets:
            socket.identity.is_superuser = auth["is_superuser"]
            if not auth["is_active"]:
                await socket.close_for_inactive_user()


_CATCH_UP = object()  # a queue item: read what the log has past the last change handled


class _Replay:
    __slots__ = ("socket", "channel", "since")

    def __init__(self, socket, channel, since: int) -> None:
        self.socket, self.channel, self.since = socket, channel, since


def catch_up_seconds() -> float:
    return float(getattr(settings, "REALTIME_CATCHUP_SECONDS", 2.0))


async def _logged_changes(after: int, before: int | None) -> list[dict]:
    from channels.db import database_sync_to_async

    def read() -> list[dict]:
        rows = ChangeLog.objects.filter(position__gt=after)
        if before is not None:
            rows = rows.filter(position__lt=before)
        return [orjson.loads(bytes(m)) for m in rows.order_by("position").values_list("message", flat=True)[:CATCH_UP_ROWS]]

    return await database_sync_to_async(read)()


async def _relay_state() -> tuple[int, int]:
    """(the last position handed on, the last one pruned from the log) — (0, 0) before any."""
    from channels.db import database_sync_to_async

    def read() -> tuple[int, int]:
        return RelayState.objects.filter(pk=1).values_list("position", "pruned_through").first() or (0, 0)

    return await database_sync_to_async(read)()


class _Variant:
    """One reader kind's version of a change, decoded and re-encoded once for every socket."""

    __slots__ = ("audience", "operator", "data_json", "record", "old_record", "frames")

    def __init__(self, variant: dict, type_: str) -> None:
        spec = variant["audience"]
        self.audience = Audience(frozenset(spec["users"]), frozenset(spec["teams"]), spec["everyone"])
        self.operator = variant["operator"]  # superusers only
        data = variant["data"]
        self.data_json = orjson.dumps(data)
        self.record = (data.get("old_record") if type_ == "DELETE" else data.get("record")) or {}
        self.old_record = data.get("old_record") if type_ == "UPDATE" else None  # filters match either
        self.frames: dict = {}  # one encoded frame per (vsn, topic, ids) for this variant


async def get_dispatcher() -> Dispatcher:
    """The dispatcher of the running event loop, started (and subscribed) on first use."""
    loop = asyncio.get_running_loop()
    dispatcher = _by_loop.get(loop)
    if dispatcher is None:
        dispatcher = _by_loop[loop] = Dispatcher(loop)
        dispatcher.start()
    await dispatcher.ready.wait()
    return dispatcher
