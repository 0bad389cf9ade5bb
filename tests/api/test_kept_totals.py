"""The agent list's total, kept per user until agents or memberships change
(`echelon.db.sqlmemo.page_and_total`): a kept total is only answered while no committed write to
the tables its query reads, by any writer, has been announced; then only the page is asked for.

Committed writes are needed (notifications arrive on commit), so these tests run outside the
test transaction; answers are polled for where a late notification of the set-up may come
between two requests (tests/table_versions.py), never with a short margin.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import UserRole
from agents.models import Agent
from echelon.db.sqlmemo import tables_read
from echelon.policy import policy_for
from tests import factories
from tests.api.clients import client_as
from tests.table_versions import counted, eventually, outside

pytestmark = pytest.mark.django_db(transaction=True)
TABLES = ("agents", "user_roles")


def answer(client, query: str = ""):
    """(the list's JSON, whether its SQL counted the rows)."""
    with CaptureQueriesContext(connection) as asked:
        response = client.get(f"/api/v1/agents/{query}")
    assert response.status_code == 200, response.content
    return response.json(), any("COUNT(" in q["sql"].upper() for q in asked.captured_queries)


def kept_answer(client, query: str = "") -> dict:
    """The first answer given with a kept total (after the set-up's notifications arrived)."""
    def attempt():
        body, counting = answer(client, query)
        return None if counting else body
    return eventually(attempt, "an answer with the kept total")


def ids(body) -> set[str]:
    return {row["id"] for row in body["results"]}


def test_the_total_is_counted_once_then_kept_until_an_outside_writer_changes_agents():
    owner, other = factories.UserFactory(), factories.UserFactory()
    mine = factories.AgentFactory.create_batch(3, created_by=owner)
    theirs = factories.AgentFactory(created_by=other)
    client = client_as(owner)
    body, counting = answer(client)
    assert counting and body["count"] == 3  # the first answer counts
    assert kept_answer(client)["count"] == 3
    counted(lambda: outside("UPDATE agents SET created_by = %s WHERE id = %s", [owner.pk, theirs.pk]), TABLES)
    body, counting = answer(client)  # the very next request: no poll
    assert counting and body["count"] == 4 and ids(body) == {str(a.pk) for a in [*mine, theirs]}


def test_a_new_membership_or_a_lost_one_counts_on_the_next_request():
    owner, colleague = factories.UserFactory(), factories.UserFactory()
    factories.AgentFactory(created_by=owner)
    team = factories.TeamFactory(created_by=colleague)
    factories.AgentFactory.create_batch(2, created_by=colleague, team=team)
    client = client_as(owner)
    assert kept_answer(client)["count"] == 1
    counted(lambda: factories.UserRoleFactory(user=owner, team=team), TABLES)
    assert answer(client)[0]["count"] == 3
    assert kept_answer(client)["count"] == 3
    counted(lambda: UserRole.objects.filter(user=owner).delete(), TABLES)
    assert answer(client)[0]["count"] == 1


def test_later_pages_use_the_kept_total_and_past_the_end_is_404():
    owner = factories.UserFactory()
    agents = factories.AgentFactory.create_batch(3, created_by=owner)
    client = client_as(owner)
    first = kept_answer(client, "?page_size=2")
    second = kept_answer(client, "?page_size=2&page=2")
    assert first["count"] == second["count"] == 3
    assert ids(first) | ids(second) == {str(a.pk) for a in agents} and len(second["results"]) == 1
    assert second["next"] is None and second["previous"] is not None
    response = client.get("/api/v1/agents/?page_size=2&page=3")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_user_with_nothing_gets_zero_kept_and_an_empty_page():
    client = client_as(factories.UserFactory())
    assert kept_answer(client) == {"count": 0, "next": None, "previous": None, "results": []}


def test_the_kept_totals_watch_every_table_their_query_reads():
    query = policy_for(Agent).visible_to(factories.UserFactory()).values("pk").query
    sql, _ = query.get_compiler(using="default").as_sql()
    assert tables_read(sql) == TABLES  # the memberships are read in a subquery
