"""The memoized base SQL of `/rest/v1` reads (echelon.db.sqlmemo) equals a fresh compilation for
every table and every kind of actor, so a policy whose SQL starts depending on more than the
user's id and superuser flag fails here (as tests/api/test_sql_memo.py does for /api/v1)."""

from __future__ import annotations

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts.models import Role
from echelon.db import sqlmemo
from supabase_api.rest.reads import Bases
from supabase_api.rest.resources import base_queryset, compiled, memoizable, readable
from supabase_api.rest.schema import tables
from tests import factories as f

pytestmark = pytest.mark.django_db


def request_for(user):
    request = Request(APIRequestFactory().get("/rest/v1/x"))
    request.user = user
    return request


def test_memoized_base_sql_equals_a_fresh_compilation():
    sqlmemo.clear()
    owner, mate, outsider = f.UserFactory(), f.UserFactory(), f.UserFactory()
    root = f.UserFactory(is_superuser=True, is_staff=True)
    team = f.TeamFactory(created_by=owner)
    f.UserRoleFactory(user=owner, team=team, role=Role.ADMIN)
    f.UserRoleFactory(user=mate, team=team, role=Role.VIEWER)
    memoized = [t for t in tables().values() if memoizable(t)]
    assert len(memoized) >= 10, [t.name for t in memoized]  # all but notifications (unexpired: a clock)
    for table in memoized:
        for first, second in ((owner, mate), (mate, outsider), (outsider, owner), (root, f.UserFactory(
                is_superuser=True, is_staff=True))):
            Bases(request_for(first))(table)  # fills the memo with the first actor's compilation
            fresh = compiled(base_queryset(readable(table, request_for(second)), table), table)
            assert Bases(request_for(second))(table) == fresh, table.name
