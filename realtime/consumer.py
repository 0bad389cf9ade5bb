"""The websocket endpoint `/realtime/v1/websocket`: one Phoenix socket of the Supabase client.

A raw ASGI application (no channel layer: changes come from the per-process dispatcher, not
from per-socket `group_send`, which measured 6-9x slower). Handles auth at the upgrade,
`phx_join` with `postgres_changes` bindings, heartbeats, `access_token` refresh, `phx_leave`,
"unmatched topic", token expiry and idle close. See docs in docs/realtime.md.

Authorization never goes stale: every `phx_join` and every `access_token` verifies its token
(the one it carries, or the socket's) again: signature, expiry and an active user. A user found
deactivated, here or through a `users` change on the bus, loses every channel and the socket
closes with `protocol.CLOSE_UNAUTHORIZED` (4001); reconnecting is refused at the upgrade.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import zlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import orjson
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError

from echelon.auth.tokens import is_anon_key
from realtime import bus, protocol
from realtime.auth import (
    AuthError,
    Identity,
    InactiveUser,
    anonymous_identity,
    identity_for,
    identity_from_token,
    user_from_token,
)
from realtime.changes import SCHEMA, column_types
from realtime.direct_write import OutgoingFrame, buffered_for, writer_for
from realtime.dispatcher import get_dispatcher
from realtime.filters import Filter, FilterError, parse_filter
from realtime.services import TOPIC_PREFIX, authorize_topic, broadcast_message, unauthorized

log = logging.getLogger(__name__)

EVENTS = ("*", "INSERT", "UPDATE", "DELETE")


def idle_timeout() -> float:
    return float(getattr(settings, "REALTIME_IDLE_TIMEOUT", 60))


# Limits per socket, so one client cannot grow a server process without bound (docs/fuzz-findings.md; tests/hardening/test_websocket_fuzz.py).
def max_frame_bytes() -> int:
    """A larger client frame closes the socket (protocol.CLOSE_FRAME_TOO_BIG)."""
    return int(getattr(settings, "REALTIME_MAX_FRAME_BYTES", 256 * 1024))


def max_send_buffer_bytes() -> int:
    """Bytes the server may hold for one socket that does not read; past it the socket closes
    (protocol.CLOSE_TOO_SLOW), so a stalled client cannot grow a server process."""
    return int(getattr(settings, "REALTIME_MAX_SEND_BUFFER_BYTES", 16 * 1024 * 1024))


def max_channels() -> int:
    """Joined topics per socket; a join beyond it gets an error reply."""
    return int(getattr(settings, "REALTIME_MAX_CHANNELS", 100))


def max_bindings() -> int:
    """`postgres_changes` entries per join; more gets an error reply."""
    return int(getattr(settings, "REALTIME_MAX_BINDINGS", 100))


def _tables() -> dict[str, type]:
    """db_table → model, for every model with a row policy (the tables one may subscribe to)."""
    from echelon.policy import registered_models

    return {model._meta.db_table: model for model in registered_models()}


@dataclass
class Subscription:
    id: int
    event: str
    table: str  # "*" = every table
    filter: Filter | None = None
    select: tuple | None = None  # `select`: the columns sent (of those the reader sees); None: all

    def matches(self, table: str, type_: str, record: dict, old_record: dict | None = None) -> bool:
        """An UPDATE matches when the row matches the filter before or after it (a row that
        leaves a filter still reaches those who saw it enter: supabase #6244)."""
        if self.table != "*" and self.table != table:
            return False
        if self.event != "*" and self.event != type_:
            return False
        return (self.filter is None or self.filter.matches(record)
                or (old_record is not None and self.filter.matches(old_record)))


@dataclass
class Channel:
    topic: str
    join_ref: str | None
    topic_json: bytes
    subscriptions: list[Subscription] = field(default_factory=list)
    held: bool = False  # resuming: live changes wait until the missed ones are sent (dispatcher.replay)
    private: bool = False  # `config.private`: joined through the topic policy (echelon.policy.TopicPolicy)
    can_send: bool = False  # may broadcast (a private channel: the topic policy's can_send)
    broadcast_self: bool = False  # `config.broadcast.self`: the sender gets its own broadcasts
    broadcast_ack: bool = False  # `config.broadcast.ack`: a broadcast push gets an ok reply
    presence_enabled: bool = False  # `config.presence.enabled` (or tracked): gets presence_state / diffs
    presence_key: str = ""  # `config.presence.key`; empty: the socket's id
    presence_meta: dict | None = None  # what this channel tracks now

    @property
    def name(self) -> str:
        """The topic without `realtime:` (what the topic policy and the HTTP endpoint name)."""
        return self.topic[len(TOPIC_PREFIX):]


def binding_id(entry: dict) -> int:
    """A stable, non-zero integer id for a binding (the client ignores id 0)."""
    key = orjson.dumps([entry.get("event"), entry.get("schema"), entry.get("table"), entry.get("filter")])
    return zlib.crc32(key) or 1


def parse_binding(entry) -> tuple[Subscription | None, str | None]:
    """A subscription from one `postgres_changes` entry, or an error message naming the problem."""
    if not isinstance(entry, dict):
        return None, "postgres_changes entry must be an object"
    event, schema, table = entry.get("event"), entry.get("schema"), entry.get("table", "*")
    if event not in EVENTS:
        return None, f"invalid event {event!r}: use *, INSERT, UPDATE or DELETE"
    if schema not in (SCHEMA, "*"):
        return None, f"unknown schema {schema!r}: only 'public' is published"
    tables = _tables()
    if table != "*" and table not in tables:
        return None, f"unknown table {table!r}"
    sub = Subscription(id=binding_id(entry), event=event, table=table)
    select = entry.get("select")
    if select is not None:
        if table == "*":
            return None, "select needs a table"
        columns = column_types(tables[table])
        if isinstance(select, str):  # "id,name" as PostgREST writes it
            select = [name.strip() for name in select.split(",")]
        if not isinstance(select, list) or not select or len(select) > len(columns) \
                or not all(isinstance(name, str) for name in select):
            return None, "select must be a list of column names"
        unknown = [name for name in select if name not in columns]
        if unknown:
            return None, f"unknown column {unknown[0][:100]!r} in select"
        sub.select = tuple(sorted(set(select)))
    text = entry.get("filter")
    if text is not None and text != "":
        if not isinstance(text, str):
            return None, "filter must be a string"
        if table == "*":
            return None, f"invalid filter {text!r}: a filter needs a table"
        try:
            sub.filter = parse_filter(text, column_types(tables[table]))
        except FilterError as exc:
            return None, str(exc)
    return sub, None


class RealtimeConsumer:
    """One websocket connection (instantiated per connection by `as_asgi()`)."""

    def __init__(self, scope, receive, send) -> None:
        self.scope, self._receive, self._send = scope, receive, send
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        vsn = (query.get("vsn") or [protocol.DEFAULT_VSN])[0]
        self.vsn = vsn if vsn in protocol.SUPPORTED_VSN else protocol.DEFAULT_VSN
        self.token = (query.get("apikey") or [None])[0] or self._header_token()
        self.identity: Identity | None = None
        self.channels: dict[str, Channel] = {}
        self.indexed_tables: set = set()
        self.indexed_topics: set = set()
        self.dispatcher = None
        self.closed = False
        self.id = uuid.uuid4().hex  # names this socket as a broadcast's origin (`broadcast.self`)
        self._write_direct = writer_for(send)  # daphne: text frames skip the ASGI send
        self._buffered = buffered_for(send)  # daphne: bytes waiting for a client that may have stopped reading

    @classmethod
    def as_asgi(cls):
        async def app(scope, receive, send):
            await cls(scope, receive, send).run()

        return app

    def _header_token(self) -> str | None:
        headers = dict(self.scope.get("headers") or [])
        for name in (b"apikey", b"x-api-key"):
            if headers.get(name):
                return headers[name].decode("latin-1")
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return None

    # --- connection ---------------------------------------------------------------------------------
    async def run(self) -> None:
        message = await self._receive()
        if message["type"] != "websocket.connect":
            return
        try:
            self.identity = await database_sync_to_async(identity_from_token)(self.token)
        except AuthError as exc:
            log.info("realtime: upgrade refused: %s", exc)
            await self._send({"type": "websocket.close", "code": protocol.CLOSE_UNAUTHORIZED})  # → HTTP 403
            return
        except (OperationalError, InterfaceError) as exc:
            # Database down (docs/operations.md): not an auth failure. 4503 mirrors HTTP 503 (daphne
            # only lets applications send 1000 or 3000-4999); clients reconnect with backoff.
            log.warning("realtime: database unavailable at upgrade (%s); closing with 4503", type(exc).__name__)
            await self._send({"type": "websocket.accept"})
            await self._send({"type": "websocket.close", "code": 4503})
            return
        self.dispatcher = await get_dispatcher()
        await self._send({"type": "websocket.accept"})
        self.dispatcher.add(self)
        try:
            await self._loop()
        finally:
            self.closed = True
            self.dispatcher.remove(self)
            for channel in self.channels.values():
                self._presence_leaves(channel)

    async def _loop(self) -> None:
        last_frame = time.monotonic()
        while True:
            deadline = last_frame + idle_timeout()
            wait = deadline - time.monotonic()
            expires = self._token_expires_in()
            if self.channels and expires is not None:
                wait = min(wait, expires)  # wake up to close the channels of an expired token
            wait = max(0.0, wait)
            try:
                message = await asyncio.wait_for(self._receive(), timeout=wait)
            except TimeoutError:
                if time.monotonic() >= deadline:
                    await self._send({"type": "websocket.close", "code": 1000})
                    return
                await self.close_all_channels("Token has expired")
                continue
            kind = message["type"]
            if kind == "websocket.disconnect" or self.closed:
                return
            if kind != "websocket.receive":
                continue
            last_frame = time.monotonic()
            text, data = message.get("text"), message.get("bytes")
            if text is None and data is None:
                continue
            limit = max_frame_bytes()
            size = len(data) if text is None else len(text) if len(text) <= limit // 4 else len(text.encode())
            if size > limit:
                log.info("realtime: closing on a frame over %d bytes", limit)
                await self._send({"type": "websocket.close", "code": protocol.CLOSE_FRAME_TOO_BIG})
                return
            try:  # binary frames: broadcast pushes of vsn 2.0.0 clients (kind 3)
                frame = protocol.decode(text, self.vsn) if text is not None else protocol.decode_binary(data)
            except protocol.ProtocolError as exc:
                if exc.topic is None:  # no channel to answer on: the socket itself is unreadable
                    log.info("realtime: closing on an unreadable frame: %s", exc)
                    await self._send({"type": "websocket.close", "code": protocol.CLOSE_UNREADABLE_FRAME})
                    return
                await self.send_text(protocol.encode(self.vsn, exc.join_ref, exc.ref, exc.topic, "phx_reply",
                                                     {"status": "error", "response": {"reason": str(exc)}}))
                continue
            await self._handle(frame)
            if self.closed:  # closed by the server (deactivated user): nothing more is read
                return

    def _token_expires_in(self) -> float | None:
        if self.identity is None or self.identity.expires_at is None:
            return None
        return max(0.0, self.identity.expires_at - time.time())

    def _written_directly(self, frame: OutgoingFrame) -> bool:
        if self._too_slow():
            return True  # closing: the frame is dropped, not buffered
        return self._write_direct is not None and self._write_direct(frame)

    def _too_slow(self) -> bool:
        """True once more than `max_send_buffer_bytes` wait for this socket: it is closed
        (CLOSE_TOO_SLOW; daphne drops the connection when the close handshake times out) and
        gets nothing more."""
        if self.closed:
            return True
        if self._buffered is None or self._buffered() <= max_send_buffer_bytes():
            return False
        log.warning("realtime: closing a socket that stopped reading (%d bytes waiting, at most %d)",
                    self._buffered(), max_send_buffer_bytes())
        self.closed = True
        asyncio.ensure_future(self._send({"type": "websocket.close", "code": protocol.CLOSE_TOO_SLOW}))
        return True

    def _push(self, frame: OutgoingFrame) -> list:
        """A frame shared by a fan-out's sockets: written at once under daphne (or dropped, the
        socket closing) → []; else → [the ASGI send to await]."""
        if self._written_directly(frame):
            return []
        return [self._send(frame.asgi())]

    async def send_text(self, text: str) -> None:
        """One text frame: straight to daphne's socket when possible (replies to 1,000
        heartbeats cost a burst of Twisted's buffered writes otherwise), else the ASGI send."""
        if not self.closed:
            for send in self._push(OutgoingFrame(text)):
                await send

    async def _frame(self, join_ref, ref, topic, event, payload) -> None:
        await self.send_text(protocol.encode(self.vsn, join_ref, ref, topic, event, payload))

    # --- messages ------------------------------------------------------------------------------------
    async def _handle(self, frame: protocol.Frame) -> None:
        if frame.topic == "phoenix" and frame.event == "heartbeat":
            await self.send_text(protocol.reply(self.vsn, frame, "ok", {}))
            return
        if frame.event == "phx_join":
            await self._join(frame)
            return
        channel = self.channels.get(frame.topic)
        if channel is None:
            await self.send_text(protocol.reply(self.vsn, frame, "error", {"reason": "unmatched topic"}))
            return
        try:
            if frame.event == "phx_leave":
                await self._leave(frame, channel)
            elif frame.event == "access_token":
                await self._refresh_token(frame, channel)
            elif frame.event == "broadcast":
                await self._broadcast(frame, channel)
            elif frame.event == "presence":
                await self._presence(frame, channel)
            else:
                await self.send_text(protocol.reply(
                    self.vsn, frame, "error", {"reason": f"unknown event {frame.event[:100]!r}"}))
        except Exception:
            log.exception("realtime: channel %s failed", frame.topic)
            await self._frame(channel.join_ref, channel.join_ref, channel.topic, "phx_error", {})
            self._drop(channel)

    async def _join(self, frame: protocol.Frame) -> None:
        topic = frame.topic
        if not topic.startswith(TOPIC_PREFIX) or topic == TOPIC_PREFIX:
            reason = "a topic is required: realtime:<name>" if topic == TOPIC_PREFIX else f"unknown topic {topic!r}"
            await self.send_text(protocol.reply(self.vsn, frame, "error", {"reason": reason}))
            return
        try:  # the join's token, or the socket's: checked again, every time
            await self._verify_token(frame.payload.get("access_token") or self.token)
        except AuthError as exc:
            if not await self._closed_for(exc):
                await self.send_text(protocol.reply(self.vsn, frame, "error", {"reason": f"invalid access token: {exc}"}))
            return
        config = frame.payload.get("config")
        config = config if isinstance(config, dict) else {}
        private = config.get("private") is True
        can_send = not self.identity.anonymous  # public channels: every signed-in user
        if private:
            allowed, can_send = await database_sync_to_async(authorize_topic)(self.identity.user_id, topic[len(TOPIC_PREFIX):])
            if not allowed:
                await self.send_text(protocol.reply(self.vsn, frame, "error",
                                                    {"reason": unauthorized(topic[len(TOPIC_PREFIX):])}))
                return
        entries = config.get("postgres_changes")
        if not isinstance(entries, list):
            entries = []
        refusal = None
        if topic not in self.channels and len(self.channels) >= max_channels():
            refusal = f"too many channels on this socket (at most {max_channels()})"
        elif len(entries) > max_bindings():
            refusal = f"too many postgres_changes bindings (at most {max_bindings()})"
        if refusal:
            await self.send_text(protocol.reply(self.vsn, frame, "error", {"reason": refusal}))
            return
        if topic in self.channels:  # a rejoin replaces the channel
            self._drop(self.channels[topic])
        options = config.get("broadcast") if isinstance(config.get("broadcast"), dict) else {}
        presence = config.get("presence") if isinstance(config.get("presence"), dict) else {}
        key = presence.get("key")
        channel = Channel(topic, frame.join_ref, orjson.dumps(topic), private=private, can_send=can_send,
                          broadcast_self=options.get("self") is True, broadcast_ack=options.get("ack") is True,
                          presence_enabled=presence.get("enabled") is True and not self.identity.anonymous,
                          presence_key=key if isinstance(key, str) and 0 < len(key) <= 255 else "")
        replies, errors = [], []
        for entry in entries:
            sub, error = parse_binding(entry)
            if sub is None:
                errors.append(error)
            else:
                channel.subscriptions.append(sub)
            # every entry echoed verbatim, in order, with its id: the client compares them
            replies.append({**entry, "id": binding_id(entry)} if isinstance(entry, dict) else entry)
        # reply first: a change framed before the reply would carry ids the client does not know yet
        await self.send_text(protocol.reply(self.vsn, frame, "ok", {"postgres_changes": replies}))
        self.channels[topic] = channel
        self.dispatcher.reindex(self)
        if channel.presence_enabled:
            await self._presence_state(channel)
        if not entries:
            return
        if errors:
            message = "Error parsing postgres_changes: " + "; ".join(errors)
            await self._system(channel, "error", message)
            return
        await self._system(channel, "ok", "Subscribed to PostgreSQL")
        since = config.get("since")
        if since is not None:
            if isinstance(since, bool) or not isinstance(since, int) or since < 0:
                await self._system(channel, "error", f"config.since must be a change position (an integer ≥ 0), "
                                                     f"not {since!r}")
                return
            channel.held = True
            self.dispatcher.replay(self, channel, since)

    async def resumed(self, channel: Channel, since: int, count: int, expired: bool) -> None:
        """After a replay: past the log's retention the client is told to refetch over REST."""
        if expired and self.channels.get(channel.topic) is channel:
            await self._system(channel, "error", f"resume_expired: changes after position {since} are no longer "
                                                 f"kept; refetch the rows over REST")

    async def _system(self, channel: Channel, status: str, message: str, extension: str = "postgres_changes") -> None:
        await self._frame(channel.join_ref, None, channel.topic, "system", {
            "extension": extension, "status": status, "message": message,
            "channel": channel.topic[len(TOPIC_PREFIX):],
        })

    async def _broadcast(self, frame: protocol.Frame, channel: Channel) -> None:
        """A client's broadcast (a text push, or a binary kind-3 frame) → the bus → the channel's members."""
        event = frame.payload.get("event")
        if not isinstance(event, str) or not event:
            await self.send_text(protocol.reply(self.vsn, frame, "error",
                                                {"reason": "a broadcast needs an event (a non-empty string)"}))
            return
        if not channel.can_send:
            await self.send_text(protocol.reply(self.vsn, frame, "error", {"reason": unauthorized(channel.name, "write to")}))
            return
        await bus.publish_async(broadcast_message(name=channel.name, event=event, payload=frame.payload.get("payload"),
                                                  binary=frame.binary, private=channel.private, origin=self.id))
        if channel.broadcast_ack:
            await self.send_text(protocol.reply(self.vsn, frame, "ok", {}))

    async def _presence_state(self, channel: Channel) -> None:
        store = self.dispatcher.presence
        state = await store.submit(store.state, channel.private, channel.topic)
        if self.channels.get(channel.topic) is channel:
            await self._frame(channel.join_ref, None, channel.topic, "presence_state", state or {})

    async def _presence(self, frame: protocol.Frame, channel: Channel) -> None:
        """`track` (again: an update) or `untrack` this channel's presence; answered ok or error."""
        event, meta = frame.payload.get("event"), frame.payload.get("payload")
        if self.identity.anonymous:  # private channels are joined through the topic policy already
            reason = unauthorized(channel.name, "write to")
        elif event == "track" and not isinstance(meta, dict):
            reason = "presence track needs a payload object"
        elif event not in ("track", "untrack"):
            reason = f"unknown presence event {str(event)[:100]!r}: use track or untrack"
        else:
            reason = None
        if reason:
            await self.send_text(protocol.reply(self.vsn, frame, "error", {"reason": reason}))
            return
        store = self.dispatcher.presence
        old = channel.presence_meta
        if event == "track":
            meta = {**meta, "phx_ref": uuid.uuid4().hex[:20]}
            if old is not None:
                meta["phx_ref_prev"] = old["phx_ref"]
            channel.presence_meta, channel.presence_enabled = meta, True
            await store.submit(store.put, channel.private, channel.topic, store.field(self, channel),
                               self.presence_key(channel), meta, old)
        elif old is not None:
            channel.presence_meta = None
            await store.submit(store.remove, channel.private, channel.topic, store.field(self, channel),
                               self.presence_key(channel), old)
        await self.send_text(protocol.reply(self.vsn, frame, "ok", {}))

    def presence_key(self, channel: Channel) -> str:
        return channel.presence_key or self.id

    def _presence_leaves(self, channel: Channel) -> None:
        """The channel is gone (left, replaced, revoked, socket closed): its presence leaves."""
        if channel.presence_meta is not None and self.dispatcher is not None:
            store = self.dispatcher.presence
            store.submit(store.remove, channel.private, channel.topic, store.field(self, channel),
                         self.presence_key(channel), channel.presence_meta)
            channel.presence_meta = None

    async def _leave(self, frame: protocol.Frame, channel: Channel) -> None:
        self._drop(channel)
        await self.send_text(protocol.reply(self.vsn, frame, "ok", {}))
        await self._frame(channel.join_ref, channel.join_ref, channel.topic, "phx_close", {})

    async def _refresh_token(self, frame: protocol.Frame, channel: Channel) -> None:
        try:
            await self._verify_token(frame.payload.get("access_token"))
        except AuthError as exc:
            if await self._closed_for(exc):
                return
            await self._system(channel, "error", f"Invalid token: {exc}", extension="system")
            self._drop(channel)
            await self._frame(channel.join_ref, channel.join_ref, channel.topic, "phx_close", {})

    async def _verify_token(self, token) -> None:
        """Signature, expiry and an active user (one query); the socket adopts the token. A
        token of another user makes the socket that user's (its teams loaded)."""
        if not isinstance(token, str):
            raise AuthError("access_token must be a string")
        if is_anon_key(token):  # signed out (or never in): the socket is anonymous again
            self._adopt(anonymous_identity(), token)
            await self.recheck_topics()
            return
        user, exp = await database_sync_to_async(user_from_token)(token)
        if str(user.pk) != self.identity.user_id:
            self._adopt(await database_sync_to_async(identity_for)(user, exp), token)
            await self.recheck_topics()
            return
        # Same user: team ids stay as the bus keeps them; only what the token and row say changes.
        self.identity.is_superuser = bool(user.is_superuser)
        self.identity.expires_at = float(exp) if exp is not None else None
        self.token = token

    def _adopt(self, identity: Identity, token: str) -> None:
        """The socket becomes `identity`'s (another user, or anonymous), its channels kept."""
        old_user = self.identity.user_id
        self.identity, self.token = identity, token
        self.dispatcher.change_user(self, old_user)
        self.dispatcher.reindex(self)  # an anonymous socket's subscriptions are not indexed

    async def _closed_for(self, error: AuthError) -> bool:
        """Close the socket when `error` says its own user is no longer active."""
        if isinstance(error, InactiveUser) and error.user_id == self.identity.user_id:
            await self.close_for_inactive_user()
            return True
        return False

    async def close_for_inactive_user(self) -> None:
        """Every channel closed with the reason, then the socket (CLOSE_UNAUTHORIZED)."""
        if self.closed:
            return
        await self.close_all_channels("user is no longer active")
        self.closed = True
        await self._send({"type": "websocket.close", "code": protocol.CLOSE_UNAUTHORIZED})

    async def recheck_topics(self) -> None:
        """Ask the topic policy again for every private channel (another user on the socket, a
        lost membership): a channel no longer allowed gets a `system` error then `phx_close`."""
        for channel in [c for c in self.channels.values() if c.private]:
            allowed, can_send = await database_sync_to_async(authorize_topic)(self.identity.user_id, channel.name)
            if self.channels.get(channel.topic) is not channel:
                continue
            channel.can_send = can_send
            if not allowed:
                self._drop(channel)
                await self._system(channel, "error", unauthorized(channel.name), extension="system")
                await self._frame(channel.join_ref, channel.join_ref, channel.topic, "phx_close", {})

    def has_private_channels(self) -> bool:
        return any(channel.private for channel in self.channels.values())

    async def close_all_channels(self, reason: str) -> None:
        """System error then phx_close on every channel (expired token, deactivated user)."""
        for channel in list(self.channels.values()):
            self._drop(channel)
            await self._system(channel, "error", reason, extension="system")
            await self._frame(channel.join_ref, channel.join_ref, channel.topic, "phx_close", {})

    async def close(self, code: int) -> None:
        """Close the socket with `code` (the server's graceful drain: clients reconnect)."""
        if not self.closed:
            await self._send({"type": "websocket.close", "code": code})

    def _drop(self, channel: Channel) -> None:
        if self.channels.get(channel.topic) is channel:
            del self.channels[channel.topic]
            self.dispatcher.reindex(self)
            self._presence_leaves(channel)

    # --- fan-out (called by the dispatcher) -------------------------------------------------------
    def joined_topics(self) -> set:
        """(private, topic) of every channel: where broadcasts and presence reach this socket."""
        return {(channel.private, channel.topic) for channel in self.channels.values()}

    def push_presence(self, message: dict, frames: dict):
        """A `presence_diff` (the bus' `presence` body) to this socket's channel on its topic,
        if it takes presence: → the sends to await (`_push`), or None when not for this socket."""
        channel = self.channels.get(message["topic"])
        if self.closed or channel is None or channel.private != message["private"] or not channel.presence_enabled:
            return None
        frame = frames.get(self.vsn)
        if frame is None:
            frame = frames[self.vsn] = OutgoingFrame(protocol.encode(
                self.vsn, None, None, message["topic"], "presence_diff",
                {"joins": message["joins"], "leaves": message["leaves"]}))
        return self._push(frame)

    def push_broadcast(self, message: dict, frames: dict):
        """The broadcast `message` (the bus' `broadcast` body) to this socket, if its channel takes
        it: → the sends to await (`_push`), or None. `frames`: one frame per vsn per message."""
        channel = self.channels.get(message["topic"])
        if self.closed or channel is None or channel.private != message["private"] or self.identity.anonymous:
            return None
        if message.get("origin") == self.id and not channel.broadcast_self:
            return None
        frame = frames.get(self.vsn)
        if frame is None:
            frame = frames[self.vsn] = OutgoingFrame(protocol.encode_broadcast(self.vsn, message))
        return self._push(frame)

    def subscribed_tables(self) -> set:
        if self.identity.anonymous:  # the policies give anonymous users no rows: never a target
            return set()
        return {sub.table for channel in self.channels.values() for sub in channel.subscriptions}

    def push_change(self, table: str, type_: str, record: dict, old_record: dict | None, data_json: bytes,
                    frames: dict, only: Channel | None = None) -> list:
        """Write this change to every matching channel of the socket; → the ASGI sends still to
        await (none under daphne). `frames` is shared by the sockets of one change, so sockets
        with the same vsn, topic and ids share one encoded (and framed) frame."""
        pending = []
        if self.closed:
            return pending
        for channel in self.channels.values():  # nothing here awaits: channels cannot change meanwhile
            if (channel.held and only is None) or (only is not None and channel is not only):
                continue
            matched = [sub for sub in channel.subscriptions if sub.matches(table, type_, record, old_record)]
            if not matched:
                continue
            selects = {sub.select for sub in matched}
            for select in selects:  # one frame per column list (bindings without `select`: one)
                ids = tuple(sub.id for sub in matched if sub.select == select)
                key = (self.vsn, channel.topic_json, ids, select)
                frame = frames.get(key)
                if frame is None:
                    data = data_json if select is None else _selected(frames, data_json, select)
                    frame = frames[key] = OutgoingFrame(protocol.encode_change(self.vsn, channel.topic_json, ids, data))
                pending.extend(self._push(frame))
        return pending


def _selected(frames: dict, data_json: bytes, select: tuple) -> bytes:
    """The change's `data` with only the `select` columns (of those its variant carries),
    serialized once per column list and change (`frames` is per change variant)."""
    key = ("select", select)
    cached = frames.get(key)
    if cached is None:
        data = frames.get("data")
        if data is None:
            data = frames["data"] = orjson.loads(data_json)
        wanted = set(select)
        projected = dict(data)
        for part in ("record", "old_record"):
            if isinstance(data.get(part), dict):
                projected[part] = {k: v for k, v in data[part].items() if k in wanted}
        projected["columns"] = [c for c in data.get("columns") or () if c.get("name") in wanted]
        cached = frames[key] = orjson.dumps(projected)
    return cached
