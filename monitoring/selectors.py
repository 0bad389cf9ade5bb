"""Monitoring reads, computed in PostgreSQL: metric aggregates per bucket and the usage summary.

Both start from the model's row policy (`visible_to`), so a user only ever aggregates rows they
may read.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.db.models import Aggregate, Avg, Count, FloatField, Max, Min
from django.db.models.functions import Trunc

from echelon.policy import policy_for
from monitoring.models import AgentMetric, ApiUsage

BUCKETS = ("minute", "hour", "day")


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile (linear interpolation between the closest values)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def _number(value):
    return None if value is None else float(value)


def agent_metric_aggregates(*, user, metric_type: str, bucket: str, since: datetime, until: datetime,
                            agent_id=None) -> list[dict]:
    """Per bucket of `recorded_at` in [since, until): count, avg, min, max, p95 of `value`."""
    rows = policy_for(AgentMetric).visible_to(user).filter(
        metric_type=metric_type, recorded_at__gte=since, recorded_at__lt=until
    )
    if agent_id is not None:
        rows = rows.filter(agent_id=agent_id)
    buckets = (
        rows.order_by()
        .annotate(bucket=Trunc("recorded_at", bucket, tzinfo=UTC))
        .values("bucket")
        .annotate(count=Count("id"), avg=Avg("value"), min=Min("value"), max=Max("value"),
                  p95=PercentileCont("value", fraction=0.95))
        .order_by("bucket")
    )
    return [
        {"bucket": row["bucket"], "count": row["count"], "avg": _number(row["avg"]),
         "min": _number(row["min"]), "max": _number(row["max"]), "p95": _number(row["p95"])}
        for row in buckets
    ]


_SUMMARY_SQL = """
SELECT u.bucket,
       CASE WHEN GROUPING(u.endpoint) = 0 THEN 'endpoint'
            WHEN GROUPING(u.agent_id) = 0 THEN 'agent'
            {user_case} ELSE 'total' END AS dimension,
       u.endpoint, u.agent_id, {user_column} AS user_id,
       count(*) AS requests,
       count(*) FILTER (WHERE u.status_code >= 400) AS errors,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY u.response_time_ms) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY u.response_time_ms) AS p95_ms,
       coalesce(sum(u.cost_usd), 0) AS cost_usd
FROM (SELECT date_trunc(%s, v.created_at) AS bucket, v.endpoint, v.agent_id, v.user_id, v.status_code,
             v.response_time_ms, v.cost_usd
      FROM ({visible}) v) u
GROUP BY GROUPING SETS ({sets})
ORDER BY u.bucket, requests DESC
"""


def _stats(row: dict) -> dict:
    return {"requests": row["requests"], "errors": row["errors"], "p50_ms": _number(row["p50_ms"]),
            "p95_ms": _number(row["p95_ms"]), "cost_usd": f"{row['cost_usd']:.4f}"}


def api_usage_summary(*, user, bucket: str, since: datetime, until: datetime) -> list[dict]:
    """Per bucket: requests, errors (status >= 400), p50/p95 response time, cost; by endpoint and
    by agent; superusers (who see every user's usage) also get a per-user breakdown."""
    per_user = bool(user.is_superuser)
    visible = (
        policy_for(ApiUsage).visible_to(user)
        .filter(created_at__gte=since, created_at__lt=until)
        .order_by()
        .values("created_at", "endpoint", "agent_id", "user_id", "status_code", "response_time_ms", "cost_usd")
    )
    visible_sql, visible_params = visible.query.sql_with_params()
    sets = ["(u.bucket)", "(u.bucket, u.endpoint)", "(u.bucket, u.agent_id)"]
    if per_user:
        sets.append("(u.bucket, u.user_id)")
    user_case = "WHEN GROUPING(u.user_id) = 0 THEN 'user'" if per_user else ""
    sql = _SUMMARY_SQL.format(visible=visible_sql, sets=", ".join(sets), user_case=user_case,
                              user_column="u.user_id" if per_user else "NULL::uuid")
    with connection.cursor() as cursor:
        cursor.execute(sql, [bucket, *visible_params])
        names = [col.name for col in cursor.description]
        rows = [dict(zip(names, values)) for values in cursor.fetchall()]

    out: dict = {}
    for row in rows:
        entry = out.get(row["bucket"])
        if entry is None:
            entry = out[row["bucket"]] = {"bucket": row["bucket"], "by_endpoint": [], "by_agent": []}
            if per_user:
                entry["by_user"] = []
        dimension = row["dimension"]
        if dimension == "total":
            entry.update(_stats(row))
        elif dimension == "endpoint":
            entry["by_endpoint"].append({"endpoint": row["endpoint"], **_stats(row)})
        elif dimension == "agent":
            agent = None if row["agent_id"] is None else str(row["agent_id"])
            entry["by_agent"].append({"agent": agent, **_stats(row)})
        else:
            entry["by_user"].append({"user": None if row["user_id"] is None else str(row["user_id"]), **_stats(row)})
    return list(out.values())
