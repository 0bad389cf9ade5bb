"""Before the unique index of 0005 (an n8n workflow id links to at most one Echelon workflow).

Existing duplicates (issue 12, point 2: a tenant could link another tenant's n8n workflow) are
resolved here, in a transaction of their own, by `unlink_duplicates`:

- all rows sharing the id belong to one agent: the oldest keeps the link (callbacks were routed
  to it), the others are unlinked;
- the rows belong to different agents: which tenant really owns the n8n workflow cannot be told
  from the database (the older row may be the intruder's), so every one of them is unlinked.

An unlinked row keeps its executions; its `n8n_workflow_id` becomes NULL, the owner of its agent
gets a high-priority `system` notification naming the workflow and the n8n id, and a warning is
logged. The owner links it again with PATCH; from then on the unique index decides.
"""

import logging

from django.db import migrations
from django.db.models import Count


log = logging.getLogger("workflows.migrations")


def unlink_duplicates(apps, schema_editor):
    Workflow = apps.get_model("workflows", "Workflow")
    Notification = apps.get_model("notifications", "Notification")
    duplicated = list(
        Workflow.objects.filter(n8n_workflow_id__gt="").values("n8n_workflow_id").annotate(links=Count("id"))
        .filter(links__gt=1).values_list("n8n_workflow_id", flat=True)
    )
    for n8n_id in duplicated:
        rows = list(Workflow.objects.filter(n8n_workflow_id=n8n_id).select_related("agent")
                    .order_by("created_at", "id"))
        one_agent = len({row.agent_id for row in rows}) == 1
        unlinked = rows[1:] if one_agent else rows
        Workflow.objects.filter(pk__in=[row.pk for row in unlinked]).update(n8n_workflow_id=None)
        reason = ("another workflow of the same agent keeps it" if one_agent else
                  "workflows of other agents were linked to it too, and which one owns it cannot be told")
        log.warning("n8n workflow %r was linked to %d workflows; unlinked %s (%s)", n8n_id, len(rows),
                    ", ".join(str(row.pk) for row in unlinked), reason)
        for row in unlinked:
            owner = row.agent.created_by_id if row.agent_id else None
            if owner is None:
                continue
            Notification.objects.create(
                user_id=owner, type="system", priority="high", title="n8n link removed",
                message=(f'Workflow "{row.name}" was linked to n8n workflow {n8n_id}, which other Echelon '
                         f"workflows were linked to as well; the link was removed because {reason}. If the "
                         "n8n workflow is yours, link it again (PATCH n8n_workflow_id)."),
                data={"workflow_id": str(row.pk), "n8n_workflow_id": n8n_id, "reason": "duplicate_n8n_link"},
            )


class Migration(migrations.Migration):

    dependencies = [
        ("agents", "0002_database_rules"),
        ("notifications", "0002_database_rules"),
        ("workflows", "0003_workflow_webhook_secret"),
    ]

    operations = [migrations.RunPython(unlink_duplicates, migrations.RunPython.noop)]
