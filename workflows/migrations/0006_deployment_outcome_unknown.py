"""Issue 18: deployments that say when n8n's outcome is not known, executions keyed by n8n workflow.

- `deployments.status` gains `stopping` (a stop queued for the worker) and `unknown` (n8n did
  not answer a publish or unpublish; the next reconcile pass resolves it), and
  `deployments.reconcile_note` records what the reconciler did.
- `workflow_executions.n8n_workflow_id` joins the natural key: n8n's execution ids restart after
  a reset, so (workflow, execution id) alone could name another run. Existing rows take their
  workflow's current link. `missing_at` marks rows n8n no longer has (not fetched again).
"""

from django.db import migrations, models


def backfill_n8n_workflow_ids(apps, schema_editor):
    schema_editor.execute(
        "UPDATE workflow_executions e SET n8n_workflow_id = w.n8n_workflow_id FROM workflows w "
        "WHERE e.workflow_id = w.id AND w.n8n_workflow_id IS NOT NULL"
    )


STATUSES = ["pending", "deploying", "deployed", "failed", "stopped", "stopping", "unknown"]


class Migration(migrations.Migration):

    dependencies = [("workflows", "0005_n8n_link_unique_own_secret")]

    operations = [
        migrations.RemoveConstraint(model_name="deployment", name="deployments_status_valid"),
        migrations.AlterField(
            model_name="deployment", name="status",
            field=models.CharField(
                choices=[("pending", "Pending"), ("deploying", "Deploying"), ("deployed", "Deployed"),
                         ("failed", "Failed"), ("stopped", "Stopped"), ("stopping", "Stopping"),
                         ("unknown", "Outcome unknown")],
                db_default="pending", default="pending", max_length=50, null=True),
        ),
        migrations.AddConstraint(
            model_name="deployment",
            constraint=models.CheckConstraint(condition=models.Q(status__in=STATUSES), name="deployments_status_valid"),
        ),
        migrations.AddField(model_name="deployment", name="reconcile_note",
                            field=models.TextField(blank=True, null=True)),
        migrations.AddField(model_name="workflowexecution", name="n8n_workflow_id",
                            field=models.CharField(blank=True, db_default="", default="", max_length=255)),
        migrations.AddField(model_name="workflowexecution", name="missing_at",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(backfill_n8n_workflow_ids, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="workflowexecution",
                                    name="workflow_executions_workflow_execution_unique"),
        migrations.AddConstraint(
            model_name="workflowexecution",
            constraint=models.UniqueConstraint(fields=("workflow", "n8n_workflow_id", "execution_id"),
                                               name="workflow_executions_workflow_n8n_execution_unique"),
        ),
    ]
