"""Property tests of `/rest/v1` (hypothesis): query strings and bodies built from the grammar's
pieces, the schema's names (hidden ones included) and random text. Never a 500; an error is
PostgREST's JSON shape; never a row or a column outside the policy: the world's secrets
(`workflows.webhook_secret`, password hashes, a teammate's tier, the outsider's rows) are
sentinel strings that no answer may hold, and no write changes a row its user may not change.

CI replays the same examples (`ECHELON_FUZZ_EXAMPLES`, default 8: ×10 reads, ×5 writes);
`make fuzz` (ECHELON_FUZZ_RANDOM=1) explores.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Role, User
from agents.models import Agent
from supabase_api.rest.schema import tables
from tests import factories as f
from tests.supabase.clients import supabase_client
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

RANDOM = os.environ.get("ECHELON_FUZZ_RANDOM") == "1"
EXAMPLES = int(os.environ.get("ECHELON_FUZZ_EXAMPLES", "8"))


def fuzz(factor: int):
    return hypothesis_settings(
        max_examples=EXAMPLES * factor, deadline=None, derandomize=not RANDOM,
        database=hypothesis_settings().database if RANDOM else None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


SECRET = "SENTINELwebhooksecretSENTINEL"
THEIRS = "SENTINELoutsiderSENTINEL"
TIER = "enterprise"  # the teammate's tier: only its own reader and operators see it


@pytest.fixture
def world(settings):
    owner, mate, outsider = f.UserFactory(), f.UserFactory(subscription_tier=TIER), f.UserFactory(full_name=THEIRS)
    team = f.TeamFactory(created_by=owner)
    f.UserRoleFactory(user=owner, team=team, role=Role.ADMIN)
    f.UserRoleFactory(user=mate, team=team, role=Role.VIEWER)
    mine = f.AgentFactory(created_by=owner, team=team, name="mine")
    theirs = f.AgentFactory(created_by=outsider, name=THEIRS, description=THEIRS)
    for agent in (mine, theirs):
        f.DeploymentFactory(agent=agent, version=1)
        f.WorkflowFactory(agent=agent, webhook_secret=SECRET)
        f.NotificationFactory(user=agent.created_by, title=THEIRS if agent is theirs else "mine")
    f.AgentTemplateFactory(created_by=outsider, is_public=False, name=THEIRS)
    hashes = list(User.objects.values_list("password", flat=True))
    return {"owner": owner, "outsider": outsider, "theirs": theirs, "hashes": hashes}


NAMES = sorted({c for t in tables().values() for c in t.columns.all_columns} | set(tables()) | {
    r.constraint for t in tables().values() for r in t.relations})
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
name = st.sampled_from(NAMES) | TEXT
value = st.sampled_from(["1", "x", "null", "true", "*a*", "(a,b)", "{}", '{"a":1}', "2024-01-01", "-1",
                         "00000000-0000-0000-0000-000000000000", '"q,uoted"', ""]) | TEXT
operator = st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is", "in", "cs", "cd", "ov",
                            "isdistinct", "fts", "match", "not.eq", "not.in", "eq(any)", "zz"])


@st.composite
def select_items(draw, depth=0):
    items = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["col", "col", "star", "embed", "json", "cast", "alias", "junk"]))
        if kind == "col":
            items.append(draw(name))
        elif kind == "star":
            items.append("*")
        elif kind == "embed" and depth < 2:
            mark = draw(st.sampled_from(["", "!inner", "!left", "!" + draw(name)]))
            prefix = draw(st.sampled_from(["", "...", "a:"]))
            items.append(f"{prefix}{draw(name)}{mark}({draw(select_items(depth + 1))})")
        elif kind == "json":
            items.append(f"{draw(name)}{draw(st.sampled_from(['->', '->>']))}{draw(name)}")
        elif kind == "cast":
            items.append(f"{draw(name)}::{draw(st.sampled_from(['text', 'int', 'jsonb', 'regclass', 'x']))}")
        elif kind == "alias":
            items.append(f"{draw(name)}:{draw(name)}")
        else:
            items.append(draw(TEXT))
    return ",".join(items)


@st.composite
def queries(draw):
    params = [("select", draw(select_items()))] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 3))):
        key = draw(name)
        if draw(st.booleans()):
            key = f"{draw(name)}.{key}"
        params.append((key, f"{draw(operator)}.{draw(value)}"))
    if draw(st.booleans()):
        params.append((draw(st.sampled_from(["or", "and", "not.or", "deployments.or"])),
                       f"({draw(name)}.{draw(operator)}.{draw(value)},{draw(name)}.eq.{draw(value)})"))
    if draw(st.booleans()):
        params.append(("order", f"{draw(name)}.{draw(st.sampled_from(['asc', 'desc', 'nullsfirst', 'x']))}"))
    for key in ("limit", "offset"):
        if draw(st.booleans()):
            params.append((key, draw(st.sampled_from(["0", "1", "5", "-1", "x", "99999999999999"]))))
    return params


def assert_within_policy(response, world):
    assert response.status_code != 500, response.content[:500]
    body = response.content.decode()
    if response.status_code >= 400:
        error = response.json()
        assert "message" in error, body[:300]
    for secret in (SECRET, THEIRS, *world["hashes"]):
        assert secret not in body, (secret, body[:500])
    if TIER in body:  # only the teammate has it, and it is not the reader
        pytest.fail(f"a teammate's tier leaked: {body[:500]}")


@fuzz(10)
@given(table=st.sampled_from(sorted(tables())) | TEXT, params=queries(),
       single=st.booleans(), count=st.booleans())
def test_reads_never_fail_and_never_leave_the_policy(world, table, params, single, count):
    query = "&".join(f"{k}={v}" for k, v in params)  # raw: the server must read whatever arrives
    headers = {}
    if single:
        headers["HTTP_ACCEPT"] = "application/vnd.pgrst.object+json"
    if count:
        headers["HTTP_PREFER"] = "count=exact"
    response = supabase_client(world["owner"]).generic("GET", f"/rest/v1/{table}?{query}", **headers)
    assert_within_policy(response, world)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                           max_leaves=6)
bodies = st.dictionaries(name, json_values, max_size=4) | st.lists(st.dictionaries(name, json_values, max_size=3),
                                                                   max_size=3) | json_values


@fuzz(5)
@given(method=st.sampled_from(["POST", "PATCH", "DELETE"]), table=st.sampled_from(sorted(tables())),
       params=queries(), body=bodies,
       prefer=st.sampled_from(["", "return=representation", "resolution=merge-duplicates",
                               "resolution=ignore-duplicates,return=representation", "missing=default"]))
def test_writes_never_fail_and_never_touch_others_rows(world, method, table, params, body, prefer):
    theirs = world["theirs"]
    before = (Agent.objects.filter(pk=theirs.pk).values().first(),
              list(Workflow.objects.filter(agent=theirs).values()))
    query = "&".join(f"{k}={v}" for k, v in params)
    response = supabase_client(world["owner"]).generic(method, f"/rest/v1/{table}?{query}",
                                                       data=json.dumps(body),
                                                       content_type="application/json", HTTP_PREFER=prefer)
    assert response.status_code != 500, response.content[:500]
    if response.status_code >= 400:
        assert "message" in response.json()
    after = (Agent.objects.filter(pk=theirs.pk).values().first(), list(Workflow.objects.filter(agent=theirs).values()))
    assert after == before
    body_text = response.content.decode()
    assert THEIRS not in body_text and SECRET not in body_text, body_text[:500]
