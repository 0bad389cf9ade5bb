"""A parsed query checked against the schema and the reader: a tree of `Node`s, one per table.

Here every name meets the reader's rights (`schema.Table.selectable` / `filterable`, from the
column declaration): a column the reader may not see does not exist (42703), one it sees on some
rows only cannot be filtered or ordered on (42501), an embed follows a foreign key between
exposed tables (PGRST200 when none, PGRST201 when several). Which rows each node reads is the
SQL builder's business (`rest/sql.py`: the table's own policy, never the parent's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from supabase_api.rest import grammar
from supabase_api.rest.errors import RestError, no_column, not_served, permission_denied
from supabase_api.rest.schema import Relation, Table, tables

ROW_KEY = "_echelon_row"  # the record a per-row reader kind is decided from (removed before answering)
MAX_ALIAS_BYTES = 63  # PostgreSQL's identifier length


@dataclass
class Output:
    key: str
    column: str | None  # source column (None: an embed)
    item: object  # ColumnItem | Embed


@dataclass
class Embed:
    item: grammar.EmbedItem
    relation: Relation
    to_one: bool
    node: Node
    parent: Table

    @property
    def key(self) -> str:
        return self.item.key


@dataclass
class Node:
    table: Table
    outputs: list = field(default_factory=list)
    embeds: list = field(default_factory=list)  # every embed, shown or not (empty select: filter only)
    conditions: list = field(default_factory=list)
    order: list = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    pk_order: list | None = None  # a write's answer: its rows in write order
    selectable: frozenset = frozenset()  # the columns this reader may see of some row

    @property
    def per_row(self) -> bool:
        return self.table.kind_per_row

    def any_per_row(self) -> bool:
        return self.per_row or any(e.node.any_per_row() for e in self.embeds if not e.item.spread)


def table_named(name: str) -> Table:
    table = tables().get(name)
    if table is None:
        raise RestError("PGRST205", f"Could not find the table 'public.{name}' in the schema cache",
                        hint="Tables served: " + ", ".join(sorted(tables())))
    return table


class Planner:
    def __init__(self, user):
        self.user = user
        self.anonymous = not (user is not None and user.is_authenticated)

    # --- columns ----------------------------------------------------------------------------------
    def selectable(self, table: Table, column: str) -> str:
        if column not in table.selectable(self.user):
            raise no_column(table.name, column)
        return column

    def filterable(self, table: Table, path: grammar.Path, what: str) -> grammar.Path:
        column = path.column
        if column not in table.filterable(self.user):
            if column in table.selectable(self.user):
                raise permission_denied(
                    self.anonymous, f"permission denied to {what} on column {table.name}.{column}",
                    "Not every row's reader sees this column, so it cannot be filtered or ordered on.")
            raise no_column(table.name, column)
        self.check_json(table, path)
        return path

    @staticmethod
    def check_json(table: Table, path: grammar.Path) -> None:
        if path.json and not table.is_json(path.column):
            raise RestError("42883", f"operator does not exist: {table.types[path.column]} -> unknown",
                            hint=f"{table.name}.{path.column} is no json or jsonb column.")

    # --- select --------------------------------------------------------------------------------------
    def node(self, table: Table, items: list, query: grammar.Query, path: tuple = ()) -> Node:
        node = Node(table, selectable=table.selectable(self.user))
        for item in items:
            if isinstance(item, grammar.StarItem):
                visible = table.selectable(self.user)
                for column in table.column_order:
                    if column in visible:
                        node.outputs.append(Output(column, column, grammar.ColumnItem(grammar.Path(column))))
            elif isinstance(item, grammar.ColumnItem):
                self.selectable(table, item.path.column)
                self.check_json(table, item.path)
                self.check_key(item.key)
                node.outputs.append(Output(item.key, item.path.column, item))
            else:
                embed = self.embed(table, item, query, path + (item.key,))
                node.embeds.append(embed)
                if embed.item.spread:
                    for output in embed.node.outputs:
                        node.outputs.append(Output(output.key, None, (embed, output)))
                elif item.items:
                    self.check_key(item.key)
                    node.outputs.append(Output(item.key, None, embed))
        if len(node.outputs) > grammar.MAX_ITEMS:
            raise RestError("PGRST100", f"at most {grammar.MAX_ITEMS} columns per level of a select")
        node.conditions = [self.condition(table, c) for c in query.filters.get(path, ())]
        node.order = [self.order_term(table, t) for t in query.order.get(path, ())]
        node.limit, node.offset = query.limit.get(path), query.offset.get(path)
        return node

    @staticmethod
    def check_key(key: str) -> None:
        if key == ROW_KEY or len(key.encode()) > MAX_ALIAS_BYTES:
            raise RestError("PGRST100", f"the output name {key[:80]!r} is reserved or longer than 63 bytes")

    def embed(self, table: Table, item: grammar.EmbedItem, query: grammar.Query, path: tuple) -> Embed:
        relation = self.relation(table, item.name, item.hint)
        to_one = relation.to_one(table.name)
        child = table_named(relation.other(table.name))
        for side, column in ((table, relation.column if to_one else relation.parent_column),
                             (child, relation.parent_column if to_one else relation.column)):
            if column not in side.filterable(self.user):  # a relation through a column one may not see
                raise self.no_relation(table, item.name)
        node = self.node(child, item.items, query, path)
        if item.spread:
            if not to_one:
                raise not_served(f"spreading a to-many embed (...{item.name})")
            if node.embeds:
                raise not_served(f"embeds inside a spread (...{item.name})")
            if child.kind_per_row:  # a spread's columns must be the same for every row's reader
                for output in node.outputs:
                    if output.column not in child.filterable(self.user):
                        raise no_column(child.name, output.column)
        return Embed(item, relation, to_one, node, table)

    def relation(self, table: Table, name: str, hint: str | None) -> Relation:
        candidates = [r for r in table.relations
                      if r.other(table.name) == name or (r.to_one(table.name) and r.column == name)]
        if hint is not None:
            candidates = [r for r in candidates if hint in (r.constraint, r.column)]
        if not candidates:
            raise self.no_relation(table, name)
        if len(candidates) > 1:
            raise RestError(
                "PGRST201",
                f"Could not embed because more than one relationship was found for '{table.name}' and '{name}'",
                details=[{"cardinality": "many-to-one" if r.to_one(table.name) else "one-to-many",
                          "embedding": f"{table.name} with {r.other(table.name)}", "relationship":
                          f"{r.constraint} using {r.child}({r.column}) and {r.parent}({r.parent_column})"}
                         for r in candidates],
                hint="Try changing '" + name + "' to one of the following: "
                     + ", ".join(f"'{name}!{r.constraint}'" for r in candidates)
                     + ". Find the desired relationship in the 'details' key.")
        return candidates[0]

    @staticmethod
    def no_relation(table: Table, name: str) -> RestError:
        return RestError("PGRST200",
                         f"Could not find a relationship between '{table.name}' and '{name}' in the schema cache",
                         hint="Embeds follow foreign keys between served tables (many-to-many through a junction "
                              "table: embed the junction).")

    # --- filters and order -----------------------------------------------------------------------
    def condition(self, table: Table, condition):
        if isinstance(condition, grammar.Logic):
            return grammar.Logic(condition.operator, [self.condition(table, c) for c in condition.conditions],
                                 condition.negated)
        self.filterable(table, condition.path, "filter")
        operator, path = condition.operator, condition.path
        text = path.json[-1][0] == "->>" if path.json else table.is_text(path.column)
        json = bool(path.json and path.json[-1][0] == "->") or (not path.json and table.is_json(path.column))
        kind = table.types[path.column] if not path.json else ("text" if text else "jsonb")
        if operator in ("like", "ilike") and not text:
            raise RestError("42883", f"operator does not exist: {kind} ~~ unknown",
                            hint=f"{operator} works on text columns (or ->> JSON paths).")
        if operator in ("cs", "cd") and not json:
            raise RestError("42883", f"operator does not exist: {kind} @> unknown",
                            hint=f"{operator} works on jsonb columns (or -> JSON paths).")
        if operator == "ov":
            raise RestError("42883", f"operator does not exist: {kind} && unknown",
                            hint="ov works on arrays and ranges; no served column is one.")
        if operator == "is" and condition.value in ("true", "false", "unknown") and kind != "boolean":
            raise RestError("42804", f"argument of IS {condition.value.upper()} must be type boolean, not type {kind}")
        return condition

    def order_term(self, table: Table, term: grammar.OrderTerm) -> grammar.OrderTerm:
        self.filterable(table, term.path, "order")
        return term


def resolve_path(node: Node, path: tuple, key: str) -> None:
    """A filter, order or limit names an embed path that the select does not have: PGRST108."""
    current = node
    for part in path:
        found = next((e for e in current.embeds if e.key == part), None)
        if found is None:
            raise RestError("PGRST108", f"'{part}' is not an embedded resource in this request",
                            hint=f"Verify that '{part}' is included in the 'select' query parameter.")
        current = found.node


def plan(table_name: str, query: grammar.Query, user) -> Node:
    table = table_named(table_name)
    root = Planner(user).node(table, query.select, query)
    for mapping, what in ((query.filters, "filter"), (query.order, "order"), (query.limit, "limit"),
                          (query.offset, "offset")):
        for path in mapping:
            resolve_path(root, path, what)
    return root
