// A small Phoenix-channel client for Echelon's realtime endpoint (Supabase Realtime protocol,
// vsn 2.0.0 frames: [join_ref, ref, topic, event, payload]); see docs/realtime.md.
// One socket per page, any number of channels, each joined with `postgres_changes` bindings,
// optionally private (the topic policy) with presence: the channel tracks `presence.meta` under
// `presence.key` after every (re)join and calls `presence.onSync(state)` with `{key: [metas]}`.
// Heartbeat every 25 s (an unanswered one drops the socket), reconnect with backoff, rejoin
// every channel, renew the access token before it expires and hand it to joined channels.
// A rejoin resumes: it asks for the changes after the last position the channel received
// (`config.since`, docs/realtime.md "Resume"), so pages refetch over REST only when the server
// no longer keeps them (`resume_expired`) or the channel had received nothing yet.

const HEARTBEAT_MS = 25_000;
const BACKOFF_MS = [1_000, 2_000, 5_000, 10_000];
const RENEW_BEFORE_S = 60;

export class RealtimeSocket {
  /**
   * @param {object} opts
   * @param {string} opts.path       websocket path, e.g. "/realtime/v1/websocket"
   * @param {string} opts.token      the current access token (JWT)
   * @param {number} opts.expiresAt  its expiry, Unix seconds
   * @param {() => Promise<{token: string, expires_at: number}>} opts.renew  fetches a fresh token
   * @param {(state: string, detail?: object) => void} opts.onState  "connecting" | "live" | "reconnecting" | "signed-out"
   */
  constructor({ path, token, expiresAt, renew, onState }) {
    this.path = path;
    this.token = token;
    this.expiresAt = expiresAt;
    this.renew = renew;
    this.onState = onState || (() => {});
    this.channels = new Map(); // topic -> channel
    this.ref = 0;
    this.attempt = 0;
    this.ws = null;
    this.heartbeatTimer = null;
    this.pendingHeartbeat = null;
    this.renewTimer = null;
    this.reconnectTimer = null;
    this.everLive = false;
    this.stopped = false;
    this.reconnectListeners = [];
  }

  nextRef() {
    this.ref += 1;
    return String(this.ref);
  }

  /** Register a channel; joined now if the socket is open, else when it opens. */
  channel(name, bindings, onChange, { private: isPrivate = false, presence = null, onBroadcast = null } = {}) {
    const topic = `realtime:${name}`;
    const channel = { topic, bindings, onChange, joinRef: null, joined: false, ids: new Map(), position: null,
                      resuming: false, private: isPrivate, presence, present: new Map(), onBroadcast };
    this.channels.set(topic, channel);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.join(channel);
    return channel;
  }

  /** Called after a reconnect (not the first connect): pages re-read what they may have missed. */
  onReconnect(listener) {
    this.reconnectListeners.push(listener);
  }

  async connect() {
    if (this.stopped) return;
    this.setState(this.everLive ? "reconnecting" : "connecting");
    if (this.expiresAt - Date.now() / 1000 < RENEW_BEFORE_S) {
      if (!(await this.renewToken())) return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}${this.path}?apikey=${encodeURIComponent(this.token)}&vsn=2.0.0`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.binaryType = "arraybuffer"; // broadcasts arrive in binary frames (kind 4)
    ws.onopen = () => {
      for (const channel of this.channels.values()) this.join(channel);
      this.startHeartbeat();
      this.scheduleRenew();
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopHeartbeat();
      for (const channel of this.channels.values()) channel.joined = false;
      this.scheduleReconnect();
    };
    ws.onerror = () => {}; // onclose follows and reconnects
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.setState("reconnecting", { retryInMs: delay });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  join(channel) {
    channel.joinRef = this.nextRef();
    channel.joined = false;
    const config = {
      broadcast: { ack: false, self: false },
      presence: { key: channel.presence ? channel.presence.key : "", enabled: Boolean(channel.presence) },
      postgres_changes: channel.bindings,
      private: channel.private,
    };
    channel.resuming = channel.position !== null;
    if (channel.resuming) config.since = channel.position;
    this.send([channel.joinRef, channel.joinRef, channel.topic, "phx_join", { config, access_token: this.token }]);
  }

  /** Send a broadcast on a joined channel (the other members get it; refused unless allowed). */
  broadcast(channel, event, payload) {
    if (!channel.joined) return;
    this.send([channel.joinRef, this.nextRef(), channel.topic, "broadcast", { type: "broadcast", event, payload }]);
  }

  /** A server broadcast frame (kind 4: topic, event, metadata lengths, encoding, then the bytes). */
  receiveBinary(buffer) {
    const bytes = new Uint8Array(buffer);
    if (bytes.length < 5 || bytes[0] !== 4) return;
    const [topicSize, eventSize, metaSize, encoding] = bytes.subarray(1, 5);
    const text = new TextDecoder();
    let offset = 5;
    const topic = text.decode(bytes.subarray(offset, offset += topicSize));
    const event = text.decode(bytes.subarray(offset, offset += eventSize));
    offset += metaSize;
    const channel = this.channels.get(topic);
    if (!channel || !channel.onBroadcast || encoding !== 1) return;
    try {
      channel.onBroadcast(event, JSON.parse(text.decode(bytes.subarray(offset))));
    } catch {
      // not JSON: nothing this page sends
    }
  }

  receive(text) {
    if (text instanceof ArrayBuffer) {
      this.receiveBinary(text);
      return;
    }
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    const [joinRef, ref, topic, event, payload] = frame;
    if (topic === "phoenix") {
      if (event === "phx_reply" && ref === this.pendingHeartbeat) this.pendingHeartbeat = null;
      return;
    }
    const channel = this.channels.get(topic);
    if (!channel) return;
    if (event === "phx_reply" && ref === channel.joinRef) {
      this.joined(channel, payload);
    } else if (event === "postgres_changes") {
      this.dispatch(channel, payload);
    } else if ((event === "presence_state" || event === "presence_diff") && channel.presence) {
      this.presence(channel, event, payload || {});
    } else if (event === "system" && payload && payload.status === "error") {
      if (String(payload.message).startsWith("resume_expired")) {
        channel.position = null; // the missed changes are gone from the server: the pages refetch
        this.reconnectListeners.forEach((listener) => listener());
        return;
      }
      console.warn(`realtime ${topic}: ${payload.message}`);
    } else if ((event === "phx_error" || event === "phx_close") && joinRef === channel.joinRef) {
      // The server dropped the channel (e.g. an expired token): renew and rejoin shortly.
      channel.joined = false;
      setTimeout(async () => {
        if (this.expiresAt - Date.now() / 1000 < RENEW_BEFORE_S) await this.renewToken();
        if (this.ws && this.ws.readyState === WebSocket.OPEN && !channel.joined) this.join(channel);
      }, 1_000);
    }
  }

  joined(channel, payload) {
    if (!payload || payload.status !== "ok") {
      const reason = payload && payload.response && payload.response.reason;
      console.warn(`realtime ${channel.topic}: join refused (${reason})`);
      setTimeout(() => this.ws && this.join(channel), BACKOFF_MS[1]);
      return;
    }
    channel.ids.clear();
    const echoed = (payload.response && payload.response.postgres_changes) || [];
    echoed.forEach((entry, index) => channel.ids.set(entry.id, channel.bindings[index]));
    channel.joined = true;
    if (channel.presence) {
      this.send([channel.joinRef, this.nextRef(), channel.topic, "presence",
                 { type: "presence", event: "track", payload: channel.presence.meta }]);
    }
    if ([...this.channels.values()].every((c) => c.joined)) {
      const wasReconnect = this.everLive;
      const allResumed = [...this.channels.values()].every((c) => c.resuming);
      this.everLive = true;
      this.attempt = 0;
      this.setState("live");
      if (wasReconnect && !allResumed) this.reconnectListeners.forEach((listener) => listener());
    }
  }

  /** Keep `channel.present` (key → metas) from presence_state / presence_diff, then onSync. */
  presence(channel, event, payload) {
    const present = channel.present;
    if (event === "presence_state") {
      present.clear();
      for (const [key, value] of Object.entries(payload)) present.set(key, value.metas || []);
    } else {
      for (const [key, value] of Object.entries(payload.leaves || {})) {
        const gone = new Set((value.metas || []).map((meta) => meta.phx_ref));
        const left = (present.get(key) || []).filter((meta) => !gone.has(meta.phx_ref));
        if (left.length) present.set(key, left); else present.delete(key);
      }
      for (const [key, value] of Object.entries(payload.joins || {})) {
        present.set(key, [...(present.get(key) || []), ...(value.metas || [])]);
      }
    }
    channel.presence.onSync(Object.fromEntries(present));
  }

  dispatch(channel, payload) {
    const data = payload && payload.data;
    if (!data) return;
    const ids = payload.ids || [];
    if (!ids.some((id) => channel.ids.has(id))) return;
    if (typeof data.position === "number") {
      if (channel.position !== null && data.position <= channel.position) return; // had it already
      channel.position = data.position;
    }
    channel.onChange({
      table: data.table,
      eventType: data.type,
      new: data.record || {},
      old: data.old_record || {},
      commitTimestamp: data.commit_timestamp,
    });
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.heartbeatTimer = setInterval(() => {
      if (this.pendingHeartbeat !== null) {
        // No reply to the previous heartbeat: the connection is dead even if not closed yet.
        this.pendingHeartbeat = null;
        if (this.ws) this.ws.close();
        return;
      }
      this.pendingHeartbeat = this.nextRef();
      this.send([null, this.pendingHeartbeat, "phoenix", "heartbeat", {}]);
    }, HEARTBEAT_MS);
  }

  stopHeartbeat() {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.pendingHeartbeat = null;
  }

  scheduleRenew() {
    clearTimeout(this.renewTimer);
    const inMs = Math.max(5_000, (this.expiresAt - RENEW_BEFORE_S) * 1000 - Date.now());
    this.renewTimer = setTimeout(async () => {
      if (await this.renewToken()) {
        for (const channel of this.channels.values()) {
          if (channel.joined) {
            this.send([channel.joinRef, this.nextRef(), channel.topic, "access_token", { access_token: this.token }]);
          }
        }
        this.scheduleRenew();
      }
    }, inMs);
  }

  /** Fetch a fresh token; false when the session is gone (the page must be reloaded). */
  async renewToken() {
    try {
      const fresh = await this.renew();
      this.token = fresh.token;
      this.expiresAt = fresh.expires_at;
      return true;
    } catch (err) {
      if (err && err.status === 401) {
        this.stopped = true;
        this.setState("signed-out");
        if (this.ws) this.ws.close();
        return false;
      }
      this.scheduleReconnect(); // network trouble: try again with backoff
      return false;
    }
  }

  setState(state, detail) {
    this.state = state;
    this.onState(state, detail || {});
  }
}
