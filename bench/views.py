"""The baseline for the HTTP benchmark: the same page of agents straight from SQL.

No DRF, no ORM, no count: the token's `sub` claim is trusted after signature check (no user
lookup), one SQL query, orjson. The fastest honest way to answer the same request.
"""

from __future__ import annotations

import orjson
from django.db import connection
from django.http import HttpResponse
from rest_framework_simplejwt.tokens import AccessToken

SQL = """
SELECT id, name, description, type, status, config, deployment_config, created_by, team_id,
       last_activity, created_at, updated_at
FROM agents
WHERE created_by = %(user)s
   OR team_id IN (SELECT team_id FROM user_roles WHERE user_id = %(user)s AND team_id IS NOT NULL)
ORDER BY updated_at DESC, id
LIMIT %(limit)s
"""
NAMES = ("id", "name", "description", "type", "status", "config", "deployment_config", "created_by", "team",
         "last_activity", "created_at", "updated_at")


def raw_agent_list(request):
    header = request.headers.get("Authorization", "")
    try:
        user_id = AccessToken(header.removeprefix("Bearer "))["sub"]
    except Exception:
        return HttpResponse(status=401)
    limit = min(int(request.GET.get("page_size", 50)), 200)
    with connection.cursor() as cursor:
        cursor.execute(SQL, {"user": user_id, "limit": limit})
        # Django's psycopg connection hands jsonb over as text: embed it as it is.
        rows = [
            dict(zip(NAMES, (*row[:5], orjson.Fragment(row[5]), orjson.Fragment(row[6]), *row[7:])))
            for row in cursor.fetchall()
        ]
    return HttpResponse(orjson.dumps({"results": rows}, option=orjson.OPT_UTC_Z), content_type="application/json")
