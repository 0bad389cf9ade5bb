"""Bound users.avatar_url (issue 12, point 14): 2,048 characters, http(s) URL; a CHECK for every
writer. Addresses longer than that (the 2 MB ones the attack stored) are cleared first, so the
constraint can be added to an existing database."""

import django.core.validators
import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_database_rules'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.RunSQL(
            "UPDATE users SET avatar_url = NULL WHERE char_length(avatar_url) > 2048",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='user',
            name='avatar_url',
            field=models.TextField(blank=True, help_text='An http(s) URL of at most 2048 characters.', max_length=2048, null=True, validators=[django.core.validators.URLValidator(schemes=['http', 'https'])]),
        ),
        migrations.AddConstraint(
            model_name='user',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('avatar_url'), 2048), name='users_avatar_url_max_length'),
        ),
    ]
