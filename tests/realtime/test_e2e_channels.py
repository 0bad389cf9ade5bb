"""End to end: broadcast, presence and private channels with the real @supabase/realtime-js
against a live daphne (issue 15): 2.109.0 on Node 20 and the newest 2.x on Node 22.

On one client: a postgres_changes channel keeps receiving after a broadcast on another channel
(supabase-js ≥ 2.91 sends it in a binary frame, which used to close the socket with 4003).
Broadcast in JSON and binary, `self`, `ack`, `httpSend` and `send()`'s REST fallback; presence
sync, join and leave; a private channel joined by the agent's readers, refused to an outsider,
sendable by its writer only. Asserts who did NOT receive: the sender without `self`, the
reader's refused broadcast, the outsider on another topic and on the public channel of the
private topic's name (up to a barrier broadcast, not a wait).
"""

from __future__ import annotations

import json
import select
import subprocess
from pathlib import Path

import pytest

from agents.services import agent_set_status
from echelon.auth.tokens import anon_key
from tests.realtime.helpers import token_for

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).parent / "e2e" / "channels.mjs"


def test_broadcast_presence_and_private_channels_with_realtime_js(runtime, daphne_server, team_agent):
    binary, modules = runtime
    owner, viewer, outsider, agent = (team_agent[k] for k in ("owner", "viewer", "outsider", "agent"))
    host, port = daphne_server()
    spec = {"url": f"ws://{host}:{port}/realtime/v1", "anonKey": anon_key(), "modules": str(modules),
            "agentId": str(agent.pk), "owner": {"token": token_for(owner)}, "viewer": {"token": token_for(viewer)},
            "outsider": {"token": token_for(outsider)}}
    proc = subprocess.Popen([binary, str(SCRIPT), json.dumps(spec)], cwd=SCRIPT.parents[3], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline().strip() if ready else ""
    if line != "READY":
        proc.kill()
        pytest.fail(f"realtime-js did not get ready: {line}{proc.communicate()}")
    agent_set_status(agent=agent, status="active", actor=owner)  # after the broadcasts (the 4003 case)
    stdout, stderr = proc.communicate("GO\n", timeout=90)
    assert proc.returncode == 0, stderr
    out = json.loads(stdout.strip().splitlines()[-1])
    assert "crash" not in out, (out.get("crash"), out)
    name = f"agent:{agent.pk}"

    # statuses: every channel joined, the outsider refused the private one (an error, not a close)
    assert out["statuses"]["owner/feed"] == "SUBSCRIBED" and out["feedState"] == "joined"
    assert out["statuses"]["outsider/agent"] == "CHANNEL_ERROR", out["statuses"]
    assert any(e.startswith("CHANNEL_ERROR: Unauthorized: You do not have permissions to read from this Channel topic")
               for e in out["errors"].pop("outsider/agent")), out["errors"]
    assert out["errors"] == {}
    assert out["statuses"]["outsider/agent-public"] == "SUBSCRIBED"
    later = {key: out["statuses"].pop(key) for key in list(out["statuses"]) if key.endswith(" later")}
    assert later == {"outsider/agent later": "CLOSED", "viewer/agent later": "CLOSED"}  # removed by the script
    assert {k: v for k, v in out["statuses"].items() if k != "outsider/agent"} == \
        dict.fromkeys([k for k in out["statuses"] if k != "outsider/agent"], "SUBSCRIBED")  # nothing else errored
    assert out["changes"] == [{"status": "active"}]  # the postgres_changes channel kept receiving

    # sends: ack'd ones answered by the server; the viewer may not write to the agent's channel
    sends = out["sends"]
    assert (sends["json"], sends["binary"], sends["viewer"], sends["privateOwner"]) == ("ok",) * 4
    assert sends["privateViewer"] == "error"
    assert sends["rest"] == "ok" and sends.get("httpSend", True) is True
    assert sends["trackOwner"] == sends["trackViewer"] == "ok"

    def seen(who, channel):
        return [(e["event"], e["payload"]) for e in out["events"][who] if e["kind"] == "broadcast" and e["channel"] == channel]

    room = [("json", {"a": 1}), ("binary", {"bytes": [1, 2, 3, 255]})]
    assert seen("owner", "room:e2e") == room + [("from-viewer", {"v": True}), ("rest", {"r": 1})]  # self: true
    assert seen("viewer", "room:e2e") == room + [("rest", {"r": 1})]  # not its own (self: false)
    http = [("http", {"h": 1})] if "httpSend" in sends else []
    assert seen("viewer", name) == [("selected", {"node": 1})] + http
    assert seen("owner", name) == http  # not its own socket's "selected" (no self), never the viewer's "denied"
    assert seen("outsider", name) == [("end", {})] and seen("outsider", "room:other") == [("end", {})]

    # presence: both see both; the viewer's leave reaches the owner; the outsider saw none of it
    assert out["presence"]["owner"] == out["presence"]["viewer"] == ["owner", "viewer"]
    assert out["presence"]["metas"] == ["agent"] and out["presence"]["afterLeave"] == ["owner"]
    owner_presence = [(e["kind"], e["key"]) for e in out["events"]["owner"] if e["kind"] != "broadcast"]
    assert ("join", "viewer") in owner_presence and owner_presence[-1] == ("leave", "viewer")
    assert [e for e in out["events"]["outsider"] if e["kind"] != "broadcast"] == []
