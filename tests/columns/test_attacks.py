"""The attacks of issue 12 behind points 1, 6, 13 and 14, each as it was tried from outside; each
of these tests fails on the code before the column declaration.

1. A team viewer subscribed to `workflows` read `record.webhook_secret` from the change of the
   owner's PATCH and of each callback's counter update (live daphne, raw websocket, REST and the
   signed callback over HTTP).
6. A staff team admin took ownership of a teammate's agent by editing `created_by` in the admin.
13. Staff non-superusers saw teammates' tier and auth flags in the admin user list; public
    templates named their author's email to every staff user; the raw-id widget of
    `agentthought/add/?execution=<foreign id>` labelled another tenant's execution.
14. `avatar_url` took 2 MB, pushed to every teammate.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import AVATAR_URL_MAX_LENGTH, Role, User
from agents.models import Agent, AgentTemplate
from notifications.models import AgentThought
from tests import factories
from tests.admin_pages import admin_url, logged_in


def staff_admin_with_a_teammate():
    """A staff user who is admin of a team, and a viewer of that team (no staff)."""
    admin_user, mate = factories.UserFactory(is_staff=True), factories.UserFactory()
    team = factories.TeamFactory(created_by=admin_user)
    factories.UserRoleFactory(user=admin_user, team=team, role=Role.ADMIN)
    factories.UserRoleFactory(user=mate, team=team, role=Role.VIEWER)
    return admin_user, mate, team


AGENT_FORM_INLINES = {"deployments-TOTAL_FORMS": "0", "deployments-INITIAL_FORMS": "0",
                      "workflows-TOTAL_FORMS": "0", "workflows-INITIAL_FORMS": "0"}


# --- point 6 ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_staff_team_admin_cannot_take_ownership_of_a_teammates_agent():
    admin_user, mate, team = staff_admin_with_a_teammate()
    agent = factories.AgentFactory(created_by=mate, team=team, name="mate's agent")
    client = logged_in(admin_user)
    form = client.get(admin_url(Agent, "change", agent.pk))
    assert form.status_code == 200
    assert "created_by" not in form.context["adminform"].form.fields  # shown, not an input
    response = client.post(admin_url(Agent, "change", agent.pk), {
        "name": "taken", "type": agent.type, "status": agent.status, "created_by": str(admin_user.pk),
        "team": str(team.pk), "config": "{}", "deployment_config": "{}", **AGENT_FORM_INLINES,
    })
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    agent.refresh_from_db()
    assert (agent.name, agent.created_by_id) == ("taken", mate.pk)  # the edit landed, the owner did not move


@pytest.mark.django_db
def test_admin_sets_owner_and_audit_fields_from_the_user():
    staff, other, team = staff_admin_with_a_teammate()
    client = logged_in(staff)
    response = client.post(admin_url(Agent, "add"), {
        "name": "mine", "type": "market", "status": "inactive", "created_by": str(other.pk), "config": "{}",
        "deployment_config": "{}", **AGENT_FORM_INLINES,
    })
    assert response.status_code == 302
    assert Agent.objects.get(name="mine").created_by_id == staff.pk
    newcomer = factories.UserFactory()  # a teammate from another team: a valid choice
    other_team = factories.TeamFactory(created_by=staff)
    factories.UserRoleFactory(user=staff, team=other_team, role=Role.VIEWER)
    factories.UserRoleFactory(user=newcomer, team=other_team, role=Role.VIEWER)
    response = client.post(admin_url(type(team), "change", team.pk), {
        "name": team.name, "slug": team.slug, "plan": team.plan,
        "roles-TOTAL_FORMS": "3", "roles-INITIAL_FORMS": "2",
        **{f"roles-{i}-{k}": v for i, role in enumerate(team.roles.order_by("granted_at"))
           for k, v in (("id", str(role.pk)), ("team", str(team.pk)), ("user", str(role.user_id)),
                        ("role", role.role))},
        "roles-2-team": str(team.pk), "roles-2-user": str(newcomer.pk), "roles-2-role": "viewer",
        "roles-2-granted_by": str(other.pk),
    })
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    assert newcomer.roles.get(team=team).granted_by_id == staff.pk


# --- point 13 -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_staff_user_list_shows_teammates_public_profile_only():
    staff = factories.UserFactory(is_staff=True)
    mate = factories.UserFactory(subscription_tier="enterprise", full_name="Mate")
    team = factories.TeamFactory(created_by=staff)
    for user in (staff, mate):
        factories.UserRoleFactory(user=user, team=team, role=Role.VIEWER)
    client = logged_in(staff)
    listed = client.get(admin_url(User, "changelist"))
    page = listed.content.decode()
    assert mate.email in page
    assert "enterprise" not in page.lower() and "superuser" not in page.lower()
    assert list(listed.context["cl"].list_display) == ["action_checkbox", "email", "full_name"]
    assert listed.context["cl"].filter_specs == []
    for probe in ({"subscription_tier__exact": "enterprise"}, {"is_superuser__exact": "0"},
                  {"password__startswith": mate.password[:4]}):  # no oracle on hidden columns
        assert client.get(admin_url(User, "changelist"), probe).status_code == 400, probe
    change = client.get(admin_url(User, "change", mate.pk)).content.decode()
    assert "enterprise" not in change.lower() and "is_staff" not in change and "last_login" not in change


@pytest.mark.django_db
def test_superuser_operates_tier_and_flags_but_never_sees_the_hash():
    root = factories.UserFactory(is_staff=True, is_superuser=True)
    mate = factories.UserFactory(subscription_tier="enterprise")
    client = logged_in(root)
    listed = client.get(admin_url(User, "changelist"))
    assert "subscription_tier" in listed.context["cl"].list_display
    change = client.get(admin_url(User, "change", mate.pk))
    fields = change.context["adminform"].form.fields
    assert {"subscription_tier", "is_staff", "is_superuser", "is_active"} <= set(fields)
    assert "password" not in fields and mate.password.split("$")[-1][:8] not in change.content.decode()
    assert client.get(admin_url(User, "changelist"), {"password__startswith": "md5$"}).status_code == 400
    assert client.get(admin_url(User, "changelist"), {"subscription_tier": "enterprise"}).status_code == 200


@pytest.mark.django_db
def test_public_template_shows_its_author_only_as_the_reader_may_see_them():
    author = factories.UserFactory(email="author@victim.example")
    template = factories.AgentTemplateFactory(created_by=author, is_public=True, name="Public one")
    stranger = factories.UserFactory(is_staff=True)
    client = logged_in(stranger)
    listed = client.get(admin_url(AgentTemplate, "changelist"))
    assert listed.status_code == 200 and "Public one" in listed.content.decode()
    assert "author@victim.example" not in listed.content.decode()
    assert str(author.pk) in listed.content.decode()  # the column the policy shows: the author's id
    change = client.get(admin_url(AgentTemplate, "change", template.pk))
    assert change.status_code == 200 and "author@victim.example" not in change.content.decode()
    # searching by the author's email is no oracle either
    found = client.get(admin_url(AgentTemplate, "changelist"), {"q": "author@victim.example"})
    assert found.context["cl"].result_count == 0
    # a teammate of the author may read the author's profile, so sees the email
    team = factories.TeamFactory(created_by=author)
    factories.UserRoleFactory(user=author, team=team, role=Role.ADMIN)
    factories.UserRoleFactory(user=stranger, team=team, role=Role.VIEWER)
    assert "author@victim.example" in client.get(admin_url(AgentTemplate, "changelist")).content.decode()


@pytest.mark.django_db
def test_raw_id_widget_does_not_label_another_tenants_execution():
    staff = factories.UserFactory(is_staff=True)
    factories.AgentFactory(created_by=staff)
    foreign = factories.WorkflowExecutionFactory(execution_id="victim-exec-31337")
    foreign.workflow.name = "victim workflow"
    foreign.workflow.save()
    # Thoughts are ingested (issue 19): nobody gets their add form, so no widget to probe there ...
    page = logged_in(staff).get(admin_url(AgentThought, "add") + f"?execution={foreign.pk}")
    assert page.status_code == 403
    text = page.content.decode()
    assert "victim-exec-31337" not in text and "victim workflow" not in text
    # ... and the widget itself labels only rows of the user's queryset
    from django.contrib import admin as django_admin

    from echelon.admin_columns import PolicyRawIdWidget
    from echelon.policy import policy_for
    from workflows.models import WorkflowExecution

    own = factories.WorkflowExecutionFactory(workflow=factories.WorkflowFactory(agent=Agent.objects.get(created_by=staff)),
                                             execution_id="own-exec-4242")
    rel = AgentThought._meta.get_field("execution").remote_field
    widget = PolicyRawIdWidget(rel, django_admin.site, policy_for(WorkflowExecution).visible_to(staff))
    assert widget.label_and_url_for_value(foreign.pk) == ("", "")
    label, _ = widget.label_and_url_for_value(own.pk)
    assert str(own) in label  # one's own execution is still labelled


# --- point 14 -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_avatar_url_is_bounded_with_a_clear_400(client_for):
    user = factories.UserFactory()
    client = client_for(user)
    huge = "https://example.com/" + "a" * (2 * 1024 * 1024)
    response = client.patch("/api/v1/users/me/", {"avatar_url": huge}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["avatar_url"]
    assert any("2048 characters" in message for message in error["fields"]["avatar_url"]), error
    not_a_url = client.patch("/api/v1/users/me/", {"avatar_url": "javascript:alert(1)"}, format="json")
    assert not_a_url.status_code == 400 and list(not_a_url.json()["error"]["fields"]) == ["avatar_url"]
    longest = "https://example.com/" + "a" * (AVATAR_URL_MAX_LENGTH - len("https://example.com/"))
    assert client.patch("/api/v1/users/me/", {"avatar_url": longest}, format="json").status_code == 200
    user.refresh_from_db()
    assert user.avatar_url == longest


@pytest.mark.django_db
def test_avatar_url_bound_holds_for_raw_sql_writers():
    user = factories.UserFactory()
    with pytest.raises(IntegrityError, match="users_avatar_url_max_length"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE users SET avatar_url = repeat('a', 2049) WHERE id = %s", [user.pk])
