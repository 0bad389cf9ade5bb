"""Actions: agent status (activate, pause, PATCH) through the status service; templates;
notifications read state; team membership management."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role, UserRole
from agents.models import Agent
from notifications.models import Notification, NotificationType
from tests import factories as f
from tests.api.clients import results


def status_notes(user):
    return Notification.objects.filter(user=user, type=NotificationType.AGENT_STATUS_CHANGE)


# --- agents -----------------------------------------------------------------------------------
def test_activate_and_pause_notify_the_owner_once_per_real_change(world, as_actor, relay):
    agent, url = world["agent_team"], f"/api/v1/agents/{world['agent_team'].pk}/"
    manager = as_actor("manager")
    assert manager.post(url + "activate/").json()["status"] == "active"
    assert manager.post(url + "activate/").status_code == 200  # no change: no notification
    assert manager.post(url + "pause/").json()["status"] == "paused"
    relay()
    notes = list(status_notes(world["owner"]).order_by("created_at").values_list("message", flat=True))
    assert notes == [
        f'Agent "{agent.name}" status changed from inactive to active',
        f'Agent "{agent.name}" status changed from active to paused',
    ]


def test_patch_status_goes_through_the_status_service(world, as_actor, relay):
    url = f"/api/v1/agents/{world['agent_private'].pk}/"
    client = as_actor("owner")
    response = client.patch(url, {"status": "error", "name": "renamed"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["name"]) == ("error", "renamed")
    assert response.json()["last_activity"] is not None
    assert client.patch(url, {"status": "error"}, format="json").status_code == 200
    relay()
    note = status_notes(world["owner"]).get()
    assert note.priority == "high"
    assert note.data == {"agent_id": str(world["agent_private"].pk), "old_status": "inactive", "new_status": "error"}


def test_a_rolled_back_patch_leaves_no_notification(world, as_actor):
    response = as_actor("manager").patch(
        f"/api/v1/agents/{world['agent_team'].pk}/", {"status": "active", "team": None}, format="json"
    )
    assert response.status_code == 403
    assert Agent.objects.get(pk=world["agent_team"].pk).status == "inactive"
    assert not status_notes(world["owner"]).exists()


def test_create_agent_in_a_managed_team(world, as_actor):
    response = as_actor("manager").post(
        "/api/v1/agents/", {"name": "Team bot", "type": "alarm", "team": str(world["team"].pk)}, format="json"
    )
    assert response.status_code == 201
    agent = Agent.objects.get(pk=response.json()["id"])
    assert (agent.created_by, agent.team) == (world["manager"], world["team"])
    # Every member of the team now reads it.
    assert as_actor("viewer").get(f"/api/v1/agents/{agent.pk}/").status_code == 200


# --- templates --------------------------------------------------------------------------------
def test_instantiate_deep_merges_the_config_into_a_new_agent(world, as_actor):
    template = f.AgentTemplateFactory(
        is_public=True, type="websearch",
        default_config={"engine": "default", "limits": {"results": 10, "depth": 2}, "tags": ["a"]},
    )
    response = as_actor("manager").post(
        f"/api/v1/agent-templates/{template.pk}/instantiate/",
        {"name": "Searcher", "team": str(world["team"].pk),
         "config": {"limits": {"results": 50}, "tags": ["b"], "extra": True}},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["type"], body["team"], body["created_by"]) == (
        "Searcher", "websearch", str(world["team"].pk), str(world["manager"].pk)
    )
    assert body["config"] == {"engine": "default", "limits": {"results": 50, "depth": 2}, "tags": ["b"], "extra": True}
    template.refresh_from_db()
    assert template.default_config["limits"] == {"results": 10, "depth": 2}  # template untouched


def test_instantiate_without_overrides_uses_the_template(world, as_actor):
    response = as_actor("owner").post(f"/api/v1/agent-templates/{world['tpl_owner'].pk}/instantiate/", {},
                                      format="json")
    assert response.status_code == 201
    assert response.json()["config"] == world["tpl_owner"].default_config
    assert response.json()["name"] == world["tpl_owner"].name


def test_instantiate_in_a_team_where_one_is_only_viewer_is_400(world, as_actor):
    response = as_actor("viewer").post(
        f"/api/v1/agent-templates/{world['tpl_public'].pk}/instantiate/", {"team": str(world["team"].pk)},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["team"]
    assert not Agent.objects.filter(created_by=world["viewer"]).exists()


def test_private_template_of_someone_else_cannot_be_instantiated(world, as_actor):
    response = as_actor("owner").post(f"/api/v1/agent-templates/{world['tpl_other'].pk}/instantiate/", {},
                                      format="json")
    assert response.status_code == 404


# --- notifications ------------------------------------------------------------------------------
def test_unread_count_mark_read_and_mark_all_read_ignore_expired(world, as_actor):
    owner = world["owner"]
    f.NotificationFactory(user=owner)
    f.NotificationFactory(user=owner, expires_at=timezone.now() - timedelta(days=1))
    client = as_actor("owner")
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    read = client.post(f"/api/v1/notifications/{world['note_owner'].pk}/mark-read/")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}
    assert client.get("/api/v1/notifications/", {"unread": "true"}).json()["results"][0]["read_at"] is None
    assert client.post("/api/v1/notifications/mark-all-read/").json()["marked"] >= 1
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    # The outsider's notification is untouched.
    world["note_other"].refresh_from_db()
    assert world["note_other"].read_at is None


def test_expired_notification_is_404(world, as_actor):
    response = as_actor("owner").get(f"/api/v1/notifications/{world['note_owner_expired'].pk}/")
    assert response.status_code == 404


def test_notifications_are_cursor_paginated_newest_first(world, as_actor):
    owner = world["owner"]
    now = timezone.now()
    for minutes in range(5):
        f.NotificationFactory(user=owner, created_at=now - timedelta(minutes=minutes + 1))
    client = as_actor("owner")
    first = client.get("/api/v1/notifications/", {"page_size": 4}).json()
    assert len(first["results"]) == 4 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None
    stamps = [row["created_at"] for row in first["results"] + second["results"]]
    assert stamps == sorted(stamps, reverse=True)


# --- teams and memberships ------------------------------------------------------------------------
def test_team_creator_becomes_its_admin(world, as_actor):
    response = as_actor("viewer").post("/api/v1/teams/", {"name": "Mine", "slug": "mine"}, format="json")
    assert response.status_code == 201
    role = UserRole.objects.get(team_id=response.json()["id"])
    assert (role.user, role.role, role.granted_by) == (world["viewer"], Role.ADMIN, world["viewer"])


def test_admin_grants_changes_and_revokes_with_granted_by_the_actor(world, as_actor):
    admin = as_actor("admin")
    granted = admin.post("/api/v1/team-roles/", {"team": str(world["team"].pk), "user": str(world["owner"].pk),
                                                 "role": "viewer"}, format="json")
    assert granted.status_code == 201
    assert granted.json()["granted_by"] == str(world["admin"].pk)
    again = admin.post("/api/v1/team-roles/", {"team": str(world["team"].pk), "user": str(world["owner"].pk),
                                               "role": "viewer"}, format="json")
    assert again.status_code == 409 and "already a member" in again.json()["error"]["message"]
    url = f"/api/v1/team-roles/{granted.json()['id']}/"
    changed = admin.patch(url, {"role": "agent_manager"}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "agent_manager"
    # The change reaches the new manager on their next request.
    assert as_actor("owner").get(f"/api/v1/agents/{world['agent_team'].pk}/").status_code == 200
    assert admin.delete(url).status_code == 204


def test_the_last_admin_cannot_be_removed_demoted_or_leave(world, as_actor):
    url = f"/api/v1/team-roles/{world['role_admin'].pk}/"
    admin = as_actor("admin")
    demote = admin.patch(url, {"role": "viewer"}, format="json")
    assert demote.status_code == 409 and "last admin" in demote.json()["error"]["message"]
    leave = admin.delete(url)
    assert leave.status_code == 409 and "last admin" in leave.json()["error"]["message"]
    assert UserRole.objects.get(pk=world["role_admin"].pk).role == Role.ADMIN
    # With a second admin, the first may step down.
    admin.patch(f"/api/v1/team-roles/{world['role_manager'].pk}/", {"role": "admin"}, format="json")
    assert admin.patch(url, {"role": "viewer"}, format="json").status_code == 200


def test_a_member_leaves_by_deleting_their_own_role(world, as_actor):
    viewer = as_actor("viewer")
    assert viewer.delete(f"/api/v1/team-roles/{world['role_viewer'].pk}/").status_code == 204
    assert results(viewer.get("/api/v1/teams/")) == []
    # Leaving is not a way to remove others.
    manager = as_actor("manager")
    assert manager.delete(f"/api/v1/team-roles/{world['role_admin'].pk}/").status_code == 403


def test_role_row_team_and_user_cannot_be_changed(world, as_actor):
    response = as_actor("admin").patch(
        f"/api/v1/team-roles/{world['role_viewer'].pk}/", {"team": str(world["team_other"].pk),
                                                           "user": str(world["owner"].pk)}, format="json"
    )
    assert response.status_code == 200
    role = UserRole.objects.get(pk=world["role_viewer"].pk)
    assert (role.team, role.user) == (world["team"], world["viewer"])


# --- users/me -----------------------------------------------------------------------------------
def test_me_reads_and_changes_own_profile_but_not_flags(world, as_actor):
    client = as_actor("viewer")
    response = client.patch(
        "/api/v1/users/me/",
        {"full_name": "Vee", "subscription_tier": "enterprise", "is_staff": True, "is_superuser": True},
        format="json",
    )
    assert response.status_code == 200
    body = client.get("/api/v1/users/me/").json()
    assert (body["full_name"], body["subscription_tier"], body["is_staff"], body["is_superuser"]) == (
        "Vee", "free", False, False
    )


def test_me_cannot_take_another_accounts_email(world, as_actor):
    response = as_actor("viewer").patch("/api/v1/users/me/", {"email": "OWNER@example.com"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["email"]


def test_team_members_see_public_profiles_only(world, as_actor):
    body = as_actor("viewer").get(f"/api/v1/users/{world['admin'].pk}/").json()
    assert set(body) == {"id", "email", "full_name", "avatar_url"}


@pytest.mark.parametrize("actor", ["owner", "viewer"])
def test_me_requires_nothing_but_a_token(world, as_actor, actor):
    assert as_actor(actor).get("/api/v1/users/me/").json()["id"] == str(world[actor].pk)
