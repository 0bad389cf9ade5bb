"""The memoized agent page SQL is exactly what the policy compiles for each kind of actor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent
from agents.selectors import AgentRows
from echelon.db import sqlmemo
from echelon.policy import policy_for
from notifications.models import Notification
from tests import factories as f
from tests.api.clients import client_as
from workflows.selectors import dashboard_rows

ACTORS = ["owner", "admin", "manager", "viewer", "outsider", "superuser", "staff"]


def _fresh_queryset(user):
    """The page query as the view builds it (no filters, first page of 50)."""
    return AgentRows(policy_for(Agent).visible_to(user).order_by("-updated_at", "id"), user=user, with_total=True).queryset[0:50]


def _fresh(user):
    sliced = _fresh_queryset(user)
    sql, params = sliced.query.get_compiler(using=sliced.db).as_sql()
    return sql, list(params)


@pytest.fixture
def actors(world):
    return {**{name: world[name] for name in ACTORS if name != "staff"},
            "staff": f.UserFactory(is_staff=True, is_superuser=False)}


@pytest.mark.parametrize("first", ACTORS)
def test_memoized_sql_equals_a_fresh_compilation_for_every_actor(first, actors):
    sqlmemo.clear()
    try:
        key = lambda user: ("agents.list", bool(user.is_superuser), 0, 50)  # noqa: E731  as the view keys it
        sqlmemo.compile_for_user(key(actors[first]), actors[first], lambda: _fresh_queryset(actors[first]))
        for name, user in actors.items():
            memo = sqlmemo.compile_for_user(key(user), user, lambda: _fresh_queryset(user))
            assert memo == _fresh(user), f"memoized SQL for {name} after {first} differs"
    finally:
        sqlmemo.clear()


def test_list_through_the_memo_returns_each_users_rows(world):
    sqlmemo.clear()
    owner_ids = {r["id"] for r in client_as(world["owner"]).get("/api/v1/agents/").json()["results"]}
    outsider_ids = {r["id"] for r in client_as(world["outsider"]).get("/api/v1/agents/").json()["results"]}
    assert owner_ids == {str(world["agent_team"].pk), str(world["agent_private"].pk)}
    assert outsider_ids == {str(world["agent_other"].pk)}


def _fresh_dashboard(user):
    queryset = dashboard_rows(user).queryset
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return sql, list(params)


@pytest.mark.parametrize("first", ACTORS)
def test_memoized_dashboard_sql_equals_a_fresh_compilation_for_every_actor(first, actors):
    sqlmemo.clear()
    try:
        key = lambda user: ("agents.dashboard", bool(user.is_superuser))  # noqa: E731  as agent_dashboard keys it
        sqlmemo.compile_for_user(key(actors[first]), actors[first], lambda: dashboard_rows(actors[first]).queryset)
        for name, user in actors.items():
            memo = sqlmemo.compile_for_user(key(user), user, lambda: dashboard_rows(user).queryset)
            assert memo == _fresh_dashboard(user), f"memoized dashboard SQL for {name} after {first} differs"
    finally:
        sqlmemo.clear()


def test_dashboard_through_the_memo_returns_each_users_rows(world):
    sqlmemo.clear()
    owner_ids = {r["id"] for r in client_as(world["owner"]).get("/api/v1/agents/dashboard/").json()}
    outsider_ids = {r["id"] for r in client_as(world["outsider"]).get("/api/v1/agents/dashboard/").json()}
    assert owner_ids == {str(world["agent_team"].pk), str(world["agent_private"].pk)}
    assert outsider_ids == {str(world["agent_other"].pk)}


AGENTS = ("agent_team", "agent_private", "agent_other")


@pytest.mark.parametrize("first", ACTORS)
def test_retrieve_through_the_memo_answers_what_the_policy_allows_for_every_actor(first, actors, world):
    """After any actor's retrieve compiled the SQL, every actor gets exactly the agents the
    policy lets it read (the same JSON as without the memo), and a 404 for the others."""
    expected = {}
    sqlmemo.clear()
    sqlmemo.MAX_ENTRIES, saved = 0, sqlmemo.MAX_ENTRIES  # nothing memoized: the ORM's answers
    try:
        for name, user in actors.items():
            for agent in AGENTS:
                response = client_as(user).get(f"/api/v1/agents/{world[agent].pk}/")
                expected[name, agent] = (response.status_code, response.content)
    finally:
        sqlmemo.MAX_ENTRIES = saved
    readable = policy_for(Agent).visible_to
    try:
        client_as(actors[first]).get(f"/api/v1/agents/{world['agent_team'].pk}/")
        for name, user in actors.items():
            for agent in AGENTS:
                response = client_as(user).get(f"/api/v1/agents/{world[agent].pk}/")
                assert (response.status_code, response.content) == expected[name, agent], (name, agent)
                assert (response.status_code == 200) == readable(user).filter(pk=world[agent].pk).exists()
    finally:
        sqlmemo.clear()


def test_retrieve_through_the_memo_is_two_queries(world, django_assert_num_queries):
    client = client_as(world["owner"])
    client.get(f"/api/v1/agents/{world['agent_private'].pk}/")
    with django_assert_num_queries(2):  # the user, the agent as the policy lets the user read it
        response = client.get(f"/api/v1/agents/{world['agent_team'].pk}/")
    assert response.status_code == 200 and response.json()["id"] == str(world["agent_team"].pk)


def test_unread_count_through_the_memo_counts_each_users_unread_unexpired_notifications_now(world):
    sqlmemo.clear()
    past = timezone.now() - timedelta(minutes=1)
    f.NotificationFactory(user=world["owner"])
    f.NotificationFactory(user=world["owner"], read_at=past)
    f.NotificationFactory(user=world["owner"], expires_at=past)
    f.NotificationFactory(user=world["viewer"])
    f.NotificationFactory(user=world["viewer"])
    try:
        def unread(user) -> int:
            response = client_as(user).get("/api/v1/notifications/unread-count/")
            assert response.status_code == 200
            return response.json()["unread"]

        def expected(user) -> int:
            return Notification.objects.filter(user=user).unread().unexpired().count()

        for name in ("owner", "viewer", "outsider", "owner"):  # the first request compiles the SQL
            assert unread(world[name]) == expected(world[name])
        before = unread(world["owner"])
        assert before > 0 and expected(world["outsider"]) != before
        # Expired after the SQL was compiled: the request's own time is swapped in, not the first one's.
        f.NotificationFactory(user=world["owner"], expires_at=timezone.now())
        f.NotificationFactory(user=world["owner"], expires_at=timezone.now() + timedelta(hours=1))
        assert unread(world["owner"]) == before + 1 == expected(world["owner"])
    finally:
        sqlmemo.clear()


def test_unread_count_is_two_queries(world, django_assert_num_queries):
    client = client_as(world["owner"])
    client.get("/api/v1/notifications/unread-count/")
    with django_assert_num_queries(2):  # the user, the count
        assert client.get("/api/v1/notifications/unread-count/").status_code == 200
