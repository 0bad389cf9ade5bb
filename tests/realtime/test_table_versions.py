"""Per-process table versions (realtime/table_versions.py) and the user rows kept by them.

Committed writes of any writer move a table's version on; a kept value is only answered while
the versions it was computed under hold. Changes arrive asynchronously (PostgreSQL's
notifications), so the tests wait for them with a generous deadline, never a short margin.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from echelon.auth.tokens import token_user
from realtime.table_versions import VersionedCache, versions
from tests import factories
from tests.table_versions import counted, eventually, outside

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_write_outside_the_app_moves_its_tables_version_on():
    user = counted(factories.UserFactory)
    before = versions.snapshot(("users",))
    assert versions.snapshot(("users",)) == before  # nothing written meanwhile: the same versions
    outside("UPDATE users SET is_active = false WHERE id = %s", [user.pk])
    eventually(lambda: versions.snapshot(("users",)) not in (None, before), "the users version moves on")


def test_truncate_moves_the_version_on_too():
    factories.NotificationFactory()
    before = eventually(lambda: versions.snapshot(("notifications",)), "listening")
    outside("TRUNCATE notifications")
    eventually(lambda: versions.snapshot(("notifications",)) not in (None, before), "truncate is announced")


def test_a_kept_user_row_is_dropped_when_anyone_changes_the_users_table():
    user = counted(factories.UserFactory)
    assert token_user(str(user.pk)).is_active
    with CaptureQueriesContext(connection) as kept:
        again = token_user(str(user.pk))
    assert again.is_active and len(kept.captured_queries) == 0, kept.captured_queries
    again.is_active = False  # a caller changing its instance changes nothing kept
    assert token_user(str(user.pk)).is_active

    outside("UPDATE users SET is_active = false WHERE id = %s", [user.pk])
    eventually(lambda: not token_user(str(user.pk)).is_active, "the deactivation is seen")
    User.objects.filter(pk=user.pk).delete()
    eventually(lambda: token_user(str(user.pk)) is None, "the deletion is seen")


def test_inside_a_transaction_nothing_kept_is_used():
    user = factories.UserFactory()
    eventually(lambda: versions.snapshot(("users",)), "listening")
    token_user(str(user.pk))
    with transaction.atomic():
        assert versions.snapshot(("users",)) is None
        User.objects.filter(pk=user.pk).update(is_active=False)  # not committed: no notification
        with CaptureQueriesContext(connection) as asked:
            assert not token_user(str(user.pk)).is_active
        assert len(asked.captured_queries) == 1
        transaction.set_rollback(True)


def test_tables_without_capture_triggers_are_never_cached():
    cache = VersionedCache(("django_session",))
    calls = []
    for _ in range(2):
        cache.get("key", lambda: calls.append(1))
    assert versions.snapshot(("django_session",)) is None and len(calls) == 2


def test_a_lost_listening_connection_moves_every_version_on():
    before = eventually(lambda: versions.snapshot(("users",)), "listening")
    pid = versions._conn.info.backend_pid
    outside("SELECT pg_terminate_backend(%s)", [pid])
    eventually(lambda: versions.snapshot(("users",)) not in (None, before), "back, every version moved on")
    assert versions._conn.info.backend_pid != pid
