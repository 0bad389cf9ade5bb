"""Row access policy: the seed's RLS rules, written once per model and used everywhere.

Each app declares one `RowPolicy` per model in its `policies.py`. The REST viewsets, the
websocket fan-out and the admin all ask the same object:

- `visible_to(user)`  : the rows `user` may read (queryset; the seed's `USING` clauses);
- `editable_by(user)` : the rows `user` may change;
- `deletable_by(user)`: the rows `user` may delete (defaults to editable);
- `audience(row)`     : who may read `row`, as user ids and team ids, so a change can be
  matched against many subscribers in memory after a bounded number of queries;
- `columns`           : which columns each kind of reader sees and which ones users write
  (`echelon.columns.Columns`, plain data); `reader_kind(user, row)` says which kind a user is
  for a row, `visible_columns(user, row)` the columns it may see, and `audiences_by_kind` splits
  a row's audience by kind, so a change is serialized once per kind, never per subscriber.

Superusers see and change every row (they are the `operator` reader kind, who still never sees
a `never` column); that bypass lives here and nowhere else.

This module knows no app (the layers contract, .importlinter): team membership comes from
`accounts.memberships`, "as their agent" from `agents.policies`.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import ClassVar

from django.db import models
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet

from echelon.columns import OPERATOR, READER, Columns

_REGISTRY: dict[type[models.Model], RowPolicy] = {}


@dataclass(frozen=True)
class Audience:
    """Who may read one row: named users, members of named teams, or every signed-in user."""

    user_ids: frozenset = field(default_factory=frozenset)
    team_ids: frozenset = field(default_factory=frozenset)
    everyone: bool = False

    def admits(self, user_id, team_ids, *, is_superuser: bool = False) -> bool:
        """True when a user with `user_id`, member of `team_ids`, may read the row."""
        if is_superuser or self.everyone or user_id in self.user_ids:
            return True
        return not self.team_ids.isdisjoint(team_ids)

    def __or__(self, other: Audience) -> Audience:
        return Audience(
            self.user_ids | other.user_ids, self.team_ids | other.team_ids, self.everyone or other.everyone
        )


def ids(*values) -> frozenset:
    """The non-null values as a frozenset (an audience's user or team ids)."""
    return frozenset(v for v in values if v is not None)


# Rows deleted by the batch of changes being handed on (table, pk as text) → their old record:
# a deployment deleted by its agent's cascade still has the agent's readers (realtime/relay.py).
_gone_rows: ContextVar[dict] = ContextVar("gone_rows", default={})


@contextmanager
def rows_gone(records: dict):
    """Within the block `row_values` answers for these deleted rows from their old records."""
    token = _gone_rows.set(records)
    try:
        yield
    finally:
        _gone_rows.reset(token)


def row_values(model, pk, *columns) -> dict | None:
    """`columns` of the row `pk` of `model` (None: no such row), also for a row deleted in the
    batch of changes being handed on (`rows_gone`). For audiences of related rows."""
    if pk is None:
        return None
    gone = _gone_rows.get().get((model._meta.db_table, str(pk)))
    if gone is not None:
        return {column: gone.get(column) for column in columns}
    return model._default_manager.filter(pk=pk).values(*columns).first()


def gone_records(model) -> list[dict]:
    """The old records of `model`'s rows deleted in the batch of changes being handed on, e.g.
    the roles a team's delete cascaded: the team's members, who could read it."""
    table = model._meta.db_table
    return [record for (gone_table, _), record in _gone_rows.get().items() if gone_table == table]


def is_signed_in(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


class RowPolicy:
    """Base policy: subclasses describe readers and writers with Q objects for one model, and
    declare its columns (`columns`, required: a model without a declaration does not start)."""

    model: ClassVar[type[models.Model]]
    columns: ClassVar[Columns | None] = None
    # Relations (field names) whose row every reader of this row may read too, so an adapter
    # may show or search their columns (an agent's deployments: the agent). Others, such as an
    # owner who may not share a team with the reader, are looked up through their own policy.
    readable_relations: ClassVar[tuple[str, ...]] = ()

    def readers(self, user) -> Q:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def writers(self, user) -> Q:
        return self.readers(user)

    def deleters(self, user) -> Q:
        return self.writers(user)

    def audience(self, row) -> Audience:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def audience_key(self, row):
        """A key shared by rows that have the same audience (None: no sharing), so a bulk
        publish computes each audience once. `row` may be a model instance or any object with
        the row's values as attributes (the relay passes an attribute view, not an instance)."""
        return None

    # --- columns ----------------------------------------------------------------------------------
    def reader_kind(self, user, row) -> str:
        """Which kind of reader `user` is for `row` (a model instance or a record dict keyed by
        column; None for a row not written yet). No query: adapters ask it per row."""
        return OPERATOR if user is not None and user.is_superuser else READER

    def visible_columns(self, user, row) -> frozenset:
        return self.columns.visible(self.reader_kind(user, row))

    def audiences_by_kind(self, audience: Audience, record: dict) -> list[tuple[str, Audience]]:
        """`audience` (who may read the row `record`) split by reader kind, most specific first:
        a subscriber gets the first kind that admits it. Superusers are added by the caller
        when the operator sees other columns than these kinds."""
        return [(READER, audience)]

    # --- querysets: the only way code reads rows for a user -------------------------------
    def _restrict(self, user, rule, queryset: QuerySet | None) -> QuerySet:
        queryset = self.model._default_manager.all() if queryset is None else queryset
        if not is_signed_in(user):
            return queryset.none()
        if user.is_superuser:
            return queryset
        return queryset.filter(rule(user))

    def visible_to(self, user, queryset: QuerySet | None = None) -> QuerySet:
        return self._restrict(user, self.readers, queryset)

    def editable_by(self, user, queryset: QuerySet | None = None) -> QuerySet:
        return self._restrict(user, self.writers, queryset)

    def deletable_by(self, user, queryset: QuerySet | None = None) -> QuerySet:
        return self._restrict(user, self.deleters, queryset)

    # --- single-row checks --------------------------------------------------------------------
    def can_read(self, user, obj) -> bool:
        return self.visible_to(user).filter(pk=obj.pk).exists()

    def can_edit(self, user, obj) -> bool:
        return self.editable_by(user).filter(pk=obj.pk).exists()

    def can_delete(self, user, obj) -> bool:
        return self.deletable_by(user).filter(pk=obj.pk).exists()


def register(policy_class: type[RowPolicy]) -> type[RowPolicy]:
    """Class decorator: make `policy_class` the policy of its model (its column declaration is
    checked against the model here, so a wrong or missing one fails at startup)."""
    if not isinstance(policy_class.columns, Columns):
        raise ImproperlyConfigured(f"{policy_class.__name__} declares no `columns` (echelon.columns.Columns)")
    policy = policy_class()
    policy.columns = policy_class.columns.bind(policy_class.model)
    _REGISTRY[policy_class.model] = policy
    return policy_class


def policy_for(model_or_obj) -> RowPolicy:
    """The registered policy of a model class or instance."""
    model = model_or_obj if isinstance(model_or_obj, type) else type(model_or_obj)
    model = model._meta.concrete_model
    try:
        return _REGISTRY[model]
    except KeyError:
        raise LookupError(f"No row policy registered for {model.__name__}") from None


def registered_models() -> list[type[models.Model]]:
    return list(_REGISTRY)


def column_declarations() -> dict[str, dict]:
    """table → its column declaration as plain data (`Columns.as_dict`), for generators such as
    the change-capture triggers and the `/rest/v1` column lists."""
    return {model._meta.db_table: policy.columns.as_dict() for model, policy in _REGISTRY.items()}


# --- realtime topics ------------------------------------------------------------------------------
class TopicPolicy:
    """Who may use a private realtime channel `<prefix>:<id>` (`config.private: true`): join it
    (receive its broadcasts and presence, track presence) and send broadcasts on it. Declared
    once per prefix next to the row policies (`register_topic`); the websocket, the HTTP
    broadcast endpoint and the server-side `broadcast` service all ask it. Sync (may query)."""

    prefix: ClassVar[str]

    def can_join(self, user, ident: str) -> bool:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def can_send(self, user, ident: str) -> bool:
        return self.can_join(user, ident)


class RowTopicPolicy(TopicPolicy):
    """A topic named after one row, `<prefix>:<pk>`: its readers join, its writers send (the
    row's own policy: `policy_for(model)`)."""

    model: ClassVar[type[models.Model]]
    senders_are_readers: ClassVar[bool] = False  # True: whoever may read the row may send too

    def _has(self, queryset: QuerySet, ident: str) -> bool:
        from django.core.exceptions import ValidationError

        try:
            return queryset.filter(pk=ident).exists()
        except (ValidationError, ValueError):  # not a primary key of this model: no such row
            return False

    def can_join(self, user, ident: str) -> bool:
        return is_signed_in(user) and self._has(policy_for(self.model).visible_to(user), ident)

    def can_send(self, user, ident: str) -> bool:
        if self.senders_are_readers:
            return self.can_join(user, ident)
        return is_signed_in(user) and self._has(policy_for(self.model).editable_by(user), ident)


_TOPICS: dict[str, TopicPolicy] = {}


def register_topic(policy_class: type[TopicPolicy]) -> type[TopicPolicy]:
    """Class decorator: make `policy_class` the policy of the private topics `<prefix>:…`."""
    _TOPICS[policy_class.prefix] = policy_class()
    return policy_class


def topic_policy_for(topic: str) -> tuple[TopicPolicy, str] | None:
    """(the policy, the id) of a private topic `<prefix>:<id>`; None: no policy, nobody may join."""
    prefix, sep, ident = topic.partition(":")
    policy = _TOPICS.get(prefix)
    if not sep or not ident or policy is None:
        return None
    return policy, ident
