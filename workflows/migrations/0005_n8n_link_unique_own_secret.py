"""An n8n workflow id links to at most one Echelon workflow; every new workflow gets its own secret.

The partial unique index covers non-empty ids (many workflows stay unlinked) and replaces
`idx_workflows_n8n_workflow_id` for the lookups by n8n id (sync, callback). Duplicates were
resolved by 0004. Rows that exist already keep an empty `webhook_secret` (checked with the
legacy `N8N_WEBHOOK_SECRET` until their owner rotates one); new rows get a generated secret.
"""

from django.db import migrations, models

import workflows.models


class Migration(migrations.Migration):

    dependencies = [("workflows", "0004_unlink_duplicate_n8n_links")]

    operations = [
        migrations.RemoveIndex(
            model_name="workflow",
            name="idx_workflows_n8n_workflow_id",
        ),
        migrations.AlterField(
            model_name="workflow",
            name="webhook_secret",
            field=models.CharField(blank=True, default=workflows.models.new_webhook_secret, max_length=255,
                                   null=True),
        ),
        migrations.AddConstraint(
            model_name="workflow",
            constraint=models.UniqueConstraint(
                condition=models.Q(("n8n_workflow_id__gt", "")), fields=("n8n_workflow_id",),
                name="workflows_n8n_workflow_id_unique", violation_error_code="unique",
                violation_error_message="This n8n workflow is already linked to another Echelon workflow.",
            ),
        ),
    ]
