"""A checked plan (`rest/plan.py`) as one SQL statement that PostgreSQL answers with the JSON body.

Every table of the tree is read from `base(table)`: the SQL of the rows its own policy lets
the reader see (`rest/reads.py` compiles the `/api/v1` viewset's queryset, i.e.
`policy.visible_to(user)`), as a subquery PostgreSQL flattens into the outer query. An embed
is a correlated subquery on the child's own base, so a parent the reader sees never lends its
rights to children it may not see. The statement's cost does not grow with the embeds' rows:
one query whatever the select (PostgREST's own design: `json_agg` of a subselect).

Values are parameters; identifiers come from the schema (quoted); output names are quoted
identifiers (at most 63 bytes, checked by the planner).
"""

from __future__ import annotations

from collections.abc import Callable

from supabase_api.rest import grammar
from supabase_api.rest.plan import ROW_KEY, Embed, Node
from supabase_api.rest.schema import Table

COMPARISONS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "like": "LIKE",
               "ilike": "ILIKE", "cs": "@>", "cd": "<@", "isdistinct": "IS DISTINCT FROM"}
IS = {"null": "IS NULL", "not_null": "IS NOT NULL", "true": "IS TRUE", "false": "IS FALSE",
      "unknown": "IS UNKNOWN"}


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Builder:
    def __init__(self, base: Callable[[Table], tuple[str, list]]):
        self.base = base
        self.aliases = 0

    def alias(self) -> str:
        self.aliases += 1
        return f"t{self.aliases}"

    # --- expressions ---------------------------------------------------------------------------
    @staticmethod
    def ref(table: Table, alias: str, column: str) -> str:
        return f"{alias}.{ident(table.attnames[column])}"

    def expr(self, table: Table, alias: str, path: grammar.Path, cast: str | None = None) -> tuple[str, list]:
        sql, params = self.ref(table, alias, path.column), []
        for op, key in path.json:
            if isinstance(key, int):
                sql += f" {op} {key}"
            else:
                sql += f" {op} %s"
                params.append(key)
        if cast:
            sql = f"({sql})::{cast}"
        return sql, params

    def condition(self, table: Table, alias: str, condition) -> tuple[str, list]:
        if isinstance(condition, grammar.Logic):
            parts, params = [], []
            for c in condition.conditions:
                sql, p = self.condition(table, alias, c)
                parts.append(sql)
                params += p
            joined = "(" + (" AND " if condition.operator == "and" else " OR ").join(parts) + ")"
            return ("NOT " + joined if condition.negated else joined), params
        sql, params = self.expr(table, alias, condition.path)
        operator, value = condition.operator, condition.value
        if operator == "is":
            sql = f"{sql} {IS[value]}"
        elif operator == "in":
            if value:
                sql = f"{sql} IN ({', '.join(['%s'] * len(value))})"
                params = params + list(value)
            else:
                sql, params = "FALSE", []
        else:
            if operator in ("like", "ilike"):
                value = value.replace("*", "%")
            sql = f"{sql} {COMPARISONS[operator]} %s"
            params = params + [value]
        return (f"NOT ({sql})" if condition.negated else sql), params

    def where(self, node: Node, alias: str, extra: list[tuple[str, list]] = ()) -> tuple[str, list]:
        parts = list(extra)
        parts += [self.condition(node.table, alias, c) for c in node.conditions]
        for embed in node.embeds:
            if embed.item.join == "inner":
                parts.append(self.exists(embed, alias))
        if not parts:
            return "TRUE", []
        return " AND ".join(f"({sql})" for sql, _ in parts), [p for _, params in parts for p in params]

    def join(self, embed: Embed, parent: str, child: str) -> tuple[str, list]:
        relation, tables = embed.relation, (embed.parent, embed.node.table)
        parent_table, child_table = tables
        if embed.to_one:
            return (f"{self.ref(child_table, child, relation.parent_column)} = "
                    f"{self.ref(parent_table, parent, relation.column)}"), []
        return (f"{self.ref(child_table, child, relation.column)} = "
                f"{self.ref(parent_table, parent, relation.parent_column)}"), []

    def exists(self, embed: Embed, parent: str) -> tuple[str, list]:
        child = self.alias()
        base, base_params = self.base(embed.node.table)
        where, params = self.where(embed.node, child, [self.join(embed, parent, child)])
        return f"EXISTS (SELECT 1 FROM ({base}) AS {child} WHERE {where})", base_params + params

    # --- rows ------------------------------------------------------------------------------------
    def columns(self, node: Node, alias: str) -> tuple[str, list]:
        parts, params = [], []
        for output in node.outputs:
            item = output.item
            if isinstance(item, grammar.ColumnItem):
                sql, p = self.expr(node.table, alias, item.path, item.cast)
            elif isinstance(item, Embed):
                sql, p = self.embedded(item, alias)
            else:  # a spread column: (embed, its output)
                embed, inner = item
                sql, p = self.spread_column(embed, inner, alias)
            parts.append(f"{sql} AS {ident(output.key)}")
            params += p
        if node.per_row:  # the row's own columns, for the policy's reader_kind (rest/reads.py)
            record = ", ".join(f"'{c}', {self.ref(node.table, alias, c)}" for c in node.table.column_order
                               if c in node.selectable)
            parts.append(f"json_build_object({record}) AS {ident(ROW_KEY)}")
        return ", ".join(parts) or "", params

    def rows(self, node: Node, alias: str, extra: list = (), limit: int | None = None,
             offset: int | None = None) -> tuple[str, list]:
        columns, column_params = self.columns(node, alias)
        base, base_params = self.base(node.table)
        where, where_params = self.where(node, alias, extra)
        sql = f"SELECT {columns} FROM ({base}) AS {alias} WHERE {where}"
        order_params = []
        if node.order:
            terms = []
            for term in node.order:
                expr, p = self.expr(node.table, alias, term.path)
                order_params += p
                nulls = f" NULLS {term.nulls.upper()}" if term.nulls else ""
                terms.append(f"{expr} {'DESC' if term.descending else 'ASC'}{nulls}")
            sql += " ORDER BY " + ", ".join(terms)
        elif node.pk_order:
            pk = node.table.pk
            sql += (f" ORDER BY array_position(ARRAY[{', '.join(['%s'] * len(node.pk_order))}]::"
                    f"{node.table.types[pk]}[], {self.ref(node.table, alias, pk)})")
            order_params = [str(k) for k in node.pk_order]
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        return sql, column_params + base_params + where_params + order_params

    def embedded(self, embed: Embed, parent: str) -> tuple[str, list]:
        child = self.alias()
        node = embed.node
        rows, params = self.rows(node, child, [self.join(embed, parent, child)],
                                 limit=node.limit if not embed.to_one else 1, offset=node.offset)
        box = self.alias()
        if embed.to_one:
            return f"(SELECT row_to_json({box}) FROM ({rows}) AS {box})", params
        return f"(SELECT coalesce(json_agg({box}), '[]'::json) FROM ({rows}) AS {box})", params

    def spread_column(self, embed: Embed, output, parent: str) -> tuple[str, list]:
        child = self.alias()
        expr, expr_params = self.expr(embed.node.table, child, output.item.path, output.item.cast)
        base, base_params = self.base(embed.node.table)
        where, where_params = self.where(embed.node, child, [self.join(embed, parent, child)])
        return (f"(SELECT {expr} FROM ({base}) AS {child} WHERE {where} LIMIT 1)",
                expr_params + base_params + where_params)


def read_statement(node: Node, base, *, limit: int | None, offset: int | None, count: bool) -> tuple[str, list]:
    """`SELECT body, rows, total`: the JSON array of the page, its length, and (with `count`)
    the number of rows the filters match, all in one statement."""
    builder = Builder(base)
    alias = builder.alias()
    rows, params = builder.rows(node, alias, limit=limit, offset=offset)
    total, total_params = "", []
    if count:
        counted = builder.alias()
        base_sql, base_params = base(node.table)
        where, where_params = builder.where(node, counted)
        total = f", (SELECT count(*) FROM ({base_sql}) AS {counted} WHERE {where})"
        total_params = base_params + where_params
    sql = f"SELECT coalesce(json_agg(_r), '[]'::json)::text, count(*){total} FROM ({rows}) AS _r"
    return sql, total_params + params


def keys_statement(node: Node, base, *, limit: int | None = None, order: bool = True) -> tuple[str, list]:
    """The primary keys of the rows `node`'s filters match (writes: which rows to change)."""
    builder = Builder(base)
    alias = builder.alias()
    base_sql, base_params = base(node.table)
    where, params = builder.where(node, alias)
    sql = f"SELECT {builder.ref(node.table, alias, node.table.pk)} FROM ({base_sql}) AS {alias} WHERE {where}"
    if order and node.order:
        terms = []
        for term in node.order:
            expr, p = builder.expr(node.table, alias, term.path)
            params += p
            terms.append(f"{expr} {'DESC' if term.descending else 'ASC'}")
        sql += " ORDER BY " + ", ".join(terms)
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, base_params + params
