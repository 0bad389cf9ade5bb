"""Bench data set: one user with 1,000 agents (5 deployments, 2 workflows each) among 10,000
agents of 100 other users. Built once with COPY (seconds) and reused by later runs."""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-password-123"
OTHERS_DOMAIN = "bench-others.example.com"  # the other users' emails: other<n>@<domain>
MINE, OTHERS, OTHER_USERS = 1_000, 10_000, 100
DEPLOYMENTS, WORKFLOWS = 5, 2
TYPES = ("market", "websearch", "media", "alarm")
STATUSES = ("active", "paused", "error", "inactive")
DEPLOY_STATUSES = ("pending", "deploying", "deployed", "failed", "stopped")


def _ready() -> bool:
    from accounts.models import User
    from agents.models import Agent

    # Only this data set is checked: other benchmark modules may add rows of their own.
    user = User.objects.filter(email=BENCH_EMAIL).first()
    return (
        user is not None
        and Agent.objects.filter(created_by=user).count() == MINE
        and Agent.objects.filter(created_by__email__endswith=f"@{OTHERS_DOMAIN}").count() == OTHERS
    )


def bench_user():
    """The bench user, building the data set first when it is missing or incomplete."""
    from accounts.models import User

    if not _ready():
        build()
    return User.objects.get(email=BENCH_EMAIL)


@transaction.atomic
def build() -> None:
    rng = random.Random(42)
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    OutstandingToken.objects.filter(user__email=BENCH_EMAIL).delete()
    with connection.cursor() as cursor:
        # The schema's ON DELETE CASCADE removes the users' agents, deployments and workflows.
        cursor.execute("DELETE FROM users WHERE email = %s OR email LIKE %s", [BENCH_EMAIL, f"%@{OTHERS_DOMAIN}"])
    raw = connection.connection
    me = uuid.uuid4()
    others = [uuid.uuid4() for _ in range(OTHER_USERS)]
    password = make_password(BENCH_PASSWORD)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with raw.cursor() as cur:
        with cur.copy("COPY users (id, email, full_name, password) FROM STDIN") as copy:
            copy.write_row((me, BENCH_EMAIL, "Bench User", password))
            for n, uid in enumerate(others):
                copy.write_row((uid, f"other{n}@{OTHERS_DOMAIN}", f"Other {n}", "!"))
        owners = [me] * MINE + [others[i % OTHER_USERS] for i in range(OTHERS)]
        agents = []
        with cur.copy(
            "COPY agents (id, name, description, type, status, config, created_by, created_at, updated_at) "
            "FROM STDIN"
        ) as copy:
            for n, owner in enumerate(owners):
                aid = uuid.uuid4()
                agents.append(aid)
                created = start + timedelta(minutes=n)
                updated = created + timedelta(seconds=rng.randint(0, 10_000_000))
                config = json.dumps({"symbols": ["ACME", "INIT"], "interval": "5m", "n": n})
                copy.write_row((aid, f"Agent {n}", "A benchmark agent", TYPES[n % 4], STATUSES[n % 4], config,
                                owner, created, updated))
        with cur.copy(
            "COPY deployments (id, agent_id, version, status, trigger_type, deployed_at, created_at) FROM STDIN"
        ) as copy:
            for n, aid in enumerate(agents):
                for v in range(1, DEPLOYMENTS + 1):
                    created = start + timedelta(minutes=n, seconds=v)
                    status = DEPLOY_STATUSES[(n + v) % 5]
                    copy.write_row((uuid.uuid4(), aid, v, status, "manual",
                                    created if status == "deployed" else None, created))
        with cur.copy(
            "COPY workflows (id, agent_id, name, execution_count, success_count, error_count, created_at, "
            "updated_at) FROM STDIN"
        ) as copy:
            for n, aid in enumerate(agents):
                for w in range(WORKFLOWS):
                    created = start + timedelta(minutes=n, seconds=w)
                    runs = rng.randint(0, 500)
                    errors = rng.randint(0, runs)
                    copy.write_row((uuid.uuid4(), aid, f"Workflow {n}.{w}", runs, runs - errors, errors,
                                    created, created))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
