"""Column walk over realtime (issue 12, point 1): every model × INSERT, UPDATE (a save and a bulk update: both
with the full old record, captured in PostgreSQL), DELETE × reader kind, through real sockets.

Every change a socket receives carries exactly the columns its reader's kind sees of that row,
in `columns`, `record` and `old_record`; no `never` column, sentinel or password hash appears
in any frame; and whoever may read the row receives its UPDATE and DELETE.
"""

from __future__ import annotations

import json

import pytest

from accounts.models import User
from echelon.columns import OPERATOR
from echelon.policy import policy_for, registered_models
from realtime.capture import published_models
from tests.columns.support import (
    READERS, ROW_MAKERS, changeable_column, never_values, plant_sentinels, walked_models,
)
from tests.realtime.helpers import Client, db, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)
EVERYTHING = {"event": "*", "schema": "public", "table": "*"}


def published_walked_models() -> list:
    """The walked models whose changes are published (api_usage is not, by default)."""
    return [model for model in walked_models() if model in published_models()]


async def connected(user):
    client = Client(token_for(user))
    assert (await client.connect())[0]
    reply, system = await client.join("walk", [EVERYTHING])
    assert reply[4]["status"] == "ok" and system[4]["status"] == "ok", system
    return client


async def drain(client) -> list[dict]:
    """The data of every change pushed to `client` for the writes made so far."""
    frames = await client.pushed()
    assert all(frame[3] == "postgres_changes" for frame in frames), frames
    return [frame[4]["data"] for frame in frames]


def write_every_kind_of_change(world) -> dict:
    """INSERT, UPDATE (save), UPDATE (bulk), DELETE of one new row per model; → model → row id."""
    made = {}
    for model in published_walked_models():
        row = ROW_MAKERS[model](world)
        plant_sentinels(model)  # the secret is in the row before the UPDATEs (old and new record)
        row.refresh_from_db()
        made[model] = (str(row.pk), frozenset(name for name in READERS if policy_for(model).can_read(world[name], row)))
        attname, by_save, in_bulk = changeable_column(model)
        if getattr(row, attname) == by_save:  # each UPDATE really changes it (else nothing is pushed)
            by_save, in_bulk = in_bulk, by_save
        setattr(row, attname, by_save)
        row.save()
        model._default_manager.filter(pk=row.pk).update(**{attname: in_bulk})
        row.delete()
    for name in READERS:  # each reader's own users row: the self variant
        user = world[name]
        user.full_name = f"{name} renamed"
        user.save()
    return made


def test_every_change_carries_exactly_the_declared_columns(world):
    secrets = never_values(world)
    tables = {m._meta.db_table: m for m in registered_models()}

    async def scenario():
        sockets = {name: await connected(world[name]) for name in READERS}
        made = await db(write_every_kind_of_change, world)
        received = {name: await drain(client) for name, client in sockets.items()}
        for client in sockets.values():
            await client.close()
        return made, received

    made, received = run(scenario)
    heard: dict = {}  # (reader, table, row id) → types received
    for name, changes in received.items():
        reader = world[name]
        for data in changes:
            text = json.dumps(data)
            assert not [s for s in secrets if s in text], (name, data["table"])
            model = tables[data["table"]]
            row = data.get("record") or data["old_record"]
            expected = policy_for(model).visible_columns(reader, row)
            assert {c["name"] for c in data["columns"]} == expected, (name, data["table"], data["type"])
            if data["type"] != "DELETE":
                assert set(data["record"]) == expected, (name, data["table"], data["type"])
            if data["type"] != "INSERT":  # the full old record, a bulk UPDATE's too
                assert set(data["old_record"]) == expected, (name, data["table"], data["type"])
            assert not set(row) & policy_for(model).columns.never
            heard.setdefault((name, data["table"], row["id"]), []).append(data["type"])
    for model, (row_id, readers) in made.items():
        assert readers, f"no reader may read the {model.__name__} row made for the walk"
        for name in readers:
            types = heard.get((name, model._meta.db_table, row_id), [])
            # the save and the bulk UPDATE (planting the sentinels may add one: it moves updated_at)
            assert types.count("UPDATE") >= 2 and types.count("DELETE") == 1, (name, model.__name__, types)
        assert "INSERT" in heard.get(("superuser", model._meta.db_table, row_id), []), model.__name__
    for name in READERS:  # the reader's own row came in its own variant
        own = heard.get((name, "users", str(world[name].pk)), [])
        assert own == ["UPDATE"], (name, own)


def test_users_changes_come_in_one_variant_per_reader_kind(world):
    """A teammate's rename reaches teammates as the public profile, the user itself and an
    operator with their columns: serialized once per kind, not per socket."""

    async def scenario():
        sockets = {name: await connected(world[name]) for name in ("viewer", "staff", "superuser", "outsider")}

        def rename():
            world["viewer"].full_name = "Vee"
            world["viewer"].save()

        await db(rename)
        got = {name: await drain(client) for name, client in sockets.items()}
        for client in sockets.values():
            await client.close()
        return got

    got = run(scenario)
    declared = policy_for(User).columns
    assert set(got["viewer"][0]["record"]) == declared.visible("self")
    assert set(got["staff"][0]["record"]) == {"id", "email", "full_name", "avatar_url"}
    assert set(got["superuser"][0]["record"]) == declared.visible(OPERATOR)
    assert got["outsider"] == []


def test_a_change_a_kind_cannot_see_is_not_sent_to_it(world):
    """A login updates only last_login: the operator hears of it, teammates do not."""

    async def scenario():
        sockets = {name: await connected(world[name]) for name in ("staff", "superuser")}

        def log_in():
            from django.contrib.auth.models import update_last_login

            update_last_login(None, world["viewer"])

        await db(log_in)
        got = {name: await drain(client) for name, client in sockets.items()}
        for client in sockets.values():
            await client.close()
        return got

    got = run(scenario)
    assert got["staff"] == []
    assert [d["table"] for d in got["superuser"]] == ["users"] and "last_login" in got["superuser"][0]["record"]
