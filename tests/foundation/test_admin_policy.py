"""The admin obeys the row policy for staff who are not superusers.

Cast: `staff` owns one agent and is a viewer of team T; `mate` owns an agent in T; `stranger`
owns an agent nobody else may see. Invisible rows answer 404, visible-but-not-editable rows are
read-only and refuse writes with 403.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from agents.models import Agent
from notifications.models import Notification
from tests import factories
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def cast():
    staff = factories.UserFactory(is_staff=True)
    mate, stranger = factories.UserFactory(), factories.UserFactory()
    team = factories.TeamFactory(created_by=mate)
    factories.UserRoleFactory(user=mate, team=team, role="admin")
    factories.UserRoleFactory(user=staff, team=team, role="viewer")
    client = Client()
    client.force_login(staff)
    return {
        "client": client, "staff": staff, "mate": mate, "stranger": stranger, "team": team,
        "own": factories.AgentFactory(created_by=staff, name="own agent"),
        "team_agent": factories.AgentFactory(created_by=mate, team=team, name="team agent"),
        "hidden": factories.AgentFactory(created_by=stranger, name="hidden agent"),
    }


def test_staff_sees_the_apps_without_model_permissions(cast):
    page = cast["client"].get(reverse("admin:index"))
    assert page.status_code == 200
    assert "/admin/agents/agent/" in page.content.decode()
    assert not cast["staff"].user_permissions.exists()


def test_non_staff_cannot_enter_the_admin(cast):
    client = Client()
    client.force_login(cast["stranger"])
    response = client.get(url(Agent, "changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_changelist_shows_only_visible_rows(cast):
    response = cast["client"].get(url(Agent, "changelist"))
    assert response.status_code == 200
    assert {a.name for a in response.context["cl"].result_list} == {"own agent", "team agent"}
    search = cast["client"].get(url(Agent, "changelist"), {"q": str(cast["hidden"].pk)})
    assert list(search.context["cl"].result_list) == []


def test_invisible_row_answers_404_on_every_page(cast):
    hidden = cast["hidden"]
    for view in ("change", "delete", "history"):
        assert cast["client"].get(url(Agent, view, hidden.pk)).status_code == 404, view
    assert cast["client"].post(url(Agent, "change", hidden.pk), {"name": "x"}).status_code == 404


def test_visible_but_not_editable_row_is_read_only_and_refuses_writes(cast):
    team_agent = cast["team_agent"]
    page = cast["client"].get(url(Agent, "change", team_agent.pk))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert cast["client"].post(url(Agent, "change", team_agent.pk), {"name": "x"}).status_code == 403
    assert cast["client"].get(url(Agent, "delete", team_agent.pk)).status_code == 403
    team_agent.refresh_from_db()
    assert team_agent.name == "team agent"


def test_own_row_is_editable(cast):
    page = cast["client"].get(url(Agent, "change", cast["own"].pk))
    assert page.status_code == 200 and page.context["has_change_permission"] is True


def test_actions_only_touch_editable_rows(cast, relay):
    agents = [cast["own"], cast["team_agent"], cast["hidden"]]
    response = cast["client"].post(url(Agent, "changelist"), {
        "action": "activate_agents", "_selected_action": [str(a.pk) for a in agents]})
    assert response.status_code == 302
    assert dict(Agent.objects.values_list("name", "status")) == {
        "own agent": "active", "team agent": "inactive", "hidden agent": "inactive"}
    relay()
    assert Notification.objects.count() == 1


def delete_selected(cast, *agents, confirm: bool):
    form = {"action": "delete_selected", "_selected_action": [str(a.pk) for a in agents]}
    return cast["client"].post(url(Agent, "changelist"), {**form, "post": "yes"} if confirm else form)


def test_bulk_delete_of_a_selection_with_rows_not_yours_is_refused_as_a_whole(cast):
    page = delete_selected(cast, cast["own"], cast["team_agent"], confirm=False)
    assert page.status_code == 200
    assert "1 agents you may not delete (team agent)" in page.content.decode()

    assert delete_selected(cast, cast["own"], cast["team_agent"], confirm=True).status_code == 403
    assert Agent.objects.count() == 3


def test_bulk_delete_of_own_rows_deletes_them_and_says_how_many(cast):
    response = delete_selected(cast, cast["own"], confirm=True)
    assert response.status_code == 302
    assert not Agent.objects.filter(pk=cast["own"].pk).exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Successfully deleted 1 agent."]


def test_fk_choices_and_autocomplete_follow_the_policy(cast):
    client = cast["client"]
    response = client.post(url(Workflow, "add"), {
        "name": "sneaky", "agent": str(cast["hidden"].pk), "status": "inactive", "trigger_config": "{}",
        "executions-TOTAL_FORMS": "0", "executions-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert "agent" in response.context["adminform"].form.errors
    assert not Workflow.objects.filter(name="sneaky").exists()
    found = client.get(reverse("admin:autocomplete"), {
        "app_label": "agents", "model_name": "agent", "field_name": "created_by", "term": ""}).json()
    emails = {r["text"] for r in found["results"]}
    assert emails == {cast["staff"].email, cast["mate"].email}


def test_a_row_saved_out_of_reach_is_rolled_back_with_403(cast):
    # staff may see the team's agent (viewer) but not change it: a workflow for it is refused.
    response = cast["client"].post(url(Workflow, "add"), {
        "name": "not mine", "agent": str(cast["team_agent"].pk), "status": "inactive", "trigger_config": "{}",
        "executions-TOTAL_FORMS": "0", "executions-INITIAL_FORMS": "0",
    })
    assert response.status_code == 403
    assert not Workflow.objects.filter(name="not mine").exists()


def test_staff_cannot_grant_themselves_privileges(cast):
    staff = cast["staff"]
    page = cast["client"].get(url(User, "change", staff.pk)).content.decode()
    assert 'name="is_superuser"' not in page
    response = cast["client"].post(url(User, "change", staff.pk), {
        "email": staff.email, "full_name": "Me", "subscription_tier": "free", "is_superuser": "on",
        "is_staff": "on", "is_active": "on"})
    assert response.status_code == 302
    staff.refresh_from_db()
    assert (staff.full_name, staff.is_superuser) == ("Me", False)


def test_notifications_show_only_the_users_own(cast):
    mine = factories.NotificationFactory(user=cast["staff"], title="mine")
    factories.NotificationFactory(user=cast["mate"], title="theirs")
    response = cast["client"].get(url(Notification, "changelist"))
    assert [n.pk for n in response.context["cl"].result_list] == [mine.pk]


def test_team_admin_staff_grants_a_role_through_the_team_inline():
    admin_user = factories.UserFactory(is_staff=True)
    team = factories.TeamFactory(created_by=admin_user, slug="crew", name="Crew")
    factories.UserRoleFactory(user=admin_user, team=team, role="admin", granted_by=admin_user)
    newcomer = factories.UserFactory()
    factories.UserRoleFactory(user=newcomer, role="viewer")  # visible to nobody here yet
    client = Client()
    client.force_login(admin_user)
    page = client.get(url(type(team), "change", team.pk))
    assert page.status_code == 200
    roles = next(f for f in page.context["inline_admin_formsets"] if f.formset.model.__name__ == "UserRole")
    assert roles.has_add_permission
    existing = roles.formset.forms[0].instance
    # The newcomer shares no team with the admin: the policy keeps them out of the choices.
    response = client.post(url(type(team), "change", team.pk), {
        "name": "Crew", "slug": "crew", "plan": "starter", "created_by": str(admin_user.pk),
        "roles-TOTAL_FORMS": "2", "roles-INITIAL_FORMS": "1",
        "roles-0-id": str(existing.pk), "roles-0-team": str(team.pk), "roles-0-user": str(admin_user.pk),
        "roles-0-role": "admin", "roles-0-granted_by": str(admin_user.pk),
        "roles-1-team": str(team.pk), "roles-1-user": str(newcomer.pk), "roles-1-role": "viewer",
    })
    assert response.status_code == 200
    assert not team.roles.filter(user=newcomer).exists()
    # A teammate from another shared team is a valid choice.
    other_team = factories.TeamFactory(created_by=admin_user)
    factories.UserRoleFactory(user=admin_user, team=other_team, role="viewer")
    factories.UserRoleFactory(user=newcomer, team=other_team, role="viewer")
    response = client.post(url(type(team), "change", team.pk), {
        "name": "Crew", "slug": "crew", "plan": "starter", "created_by": str(admin_user.pk),
        "roles-TOTAL_FORMS": "2", "roles-INITIAL_FORMS": "1",
        "roles-0-id": str(existing.pk), "roles-0-team": str(team.pk), "roles-0-user": str(admin_user.pk),
        "roles-0-role": "admin", "roles-0-granted_by": str(admin_user.pk),
        "roles-1-team": str(team.pk), "roles-1-user": str(newcomer.pk), "roles-1-role": "viewer",
    })
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    assert team.roles.get(user=newcomer).role == "viewer"


def test_viewer_staff_sees_the_roles_inline_read_only(cast):
    page = cast["client"].get(url(type(cast["team"]), "change", cast["team"].pk))
    assert page.status_code == 200
    roles = page.context["inline_admin_formsets"][0]
    assert (roles.has_add_permission, roles.has_change_permission) == (False, False)
    assert len(roles.formset.forms) == 2


def test_every_changelist_shows_exactly_the_policy_rows(cast):
    from django.contrib import admin as django_admin

    from echelon.policy import policy_for

    staff, stranger = cast["staff"], cast["stranger"]
    for owner, agent in ((staff, cast["own"]), (stranger, cast["hidden"])):
        thought = factories.AgentThoughtFactory(execution__workflow__agent=agent)
        factories.DeploymentFactory(agent=agent)
        factories.AgentMetricFactory(agent=agent)
        factories.ApiUsageFactory(user=owner, agent=agent)
        factories.NotificationFactory(user=owner)
        factories.AgentTemplateFactory(created_by=owner)
        assert thought.agent == agent
    factories.UserRoleFactory(user=stranger, role="admin")  # a team (and roles) staff is not in
    checked = 0
    for model, model_admin in django_admin.site._registry.items():
        if model._meta.app_label not in {"accounts", "agents", "workflows", "notifications", "monitoring"}:
            continue
        response = cast["client"].get(url(model, "changelist"))
        assert response.status_code == 200, model
        shown = {row.pk for row in response.context["cl"].result_list}
        expected = set(policy_for(model).visible_to(staff).values_list("pk", flat=True))
        everything = set(model.objects.values_list("pk", flat=True))
        assert shown == expected, model.__name__
        assert expected != everything, f"{model.__name__}: the cast should hide something"
        checked += 1
    assert checked == 12
