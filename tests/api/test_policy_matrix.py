"""The access policy (README "Access policy") as a matrix: actor × operation → status, and for
lists the exact set of rows. Each table below reads like the policy table.

Actors: `owner` owns agents but is in no team; `admin`, `manager` (agent_manager) and `viewer`
are members of `team` (where the owner's agent_team lives); `outsider` is admin of another
team; `anonymous` has no token; `superuser` sees everything.
Rows: `<kind>_team` (owner's, in the team), `<kind>_private` (owner's, no team),
`<kind>_other` (outsider's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.api.conftest import results

ACTORS = ("owner", "admin", "manager", "viewer", "outsider", "anonymous", "superuser")


@dataclass
class Resource:
    url: str
    target: str  # world key of the row used for detail operations
    table: str  # actor | list | one column per operation
    create: dict | None = None  # body (values naming world keys are replaced by their ids)
    update: dict = field(default_factory=dict)
    actions: dict = field(default_factory=dict)  # column → (method, url suffix, body)

    def rows(self) -> dict[str, dict[str, str]]:
        lines = [line.split("|") for line in self.table.strip().splitlines()]
        header = [cell.strip() for cell in lines[0]]
        return {
            cells[0].strip(): {header[i]: cells[i].strip() for i in range(1, len(header))} for cells in lines[1:]
        }


def _resolve(body, world):
    if isinstance(body, dict):
        return {k: _resolve(v, world) for k, v in body.items()}
    if isinstance(body, str) and body.startswith("@"):
        return str(world[body[1:]].pk)
    return body


RESOURCES = {
    # agents: owner (seed) and team members (seed) read; owner, team admin and agent_manager
    # change, activate, pause (extension); only the owner deletes.
    "agents": Resource(
        url="/api/v1/agents/", target="agent_team",
        create={"name": "New agent", "type": "market"}, update={"description": "changed"},
        actions={"activate": ("post", "activate/", None), "pause": ("post", "pause/", None)},
        table="""
        actor     | list                                 | retrieve | create | update | delete | activate | pause
        owner     | agent_team agent_private             | 200      | 201    | 200    | 204    | 200      | 200
        admin     | agent_team                           | 200      | 201    | 200    | 403    | 200      | 200
        manager   | agent_team                           | 200      | 201    | 200    | 403    | 200      | 200
        viewer    | agent_team                           | 200      | 201    | 403    | 403    | 403      | 403
        outsider  | agent_other                          | 404      | 201    | 404    | 404    | 404      | 404
        anonymous | -                                    | 401      | 401    | 401    | 401    | 401      | 401
        superuser | agent_team agent_private agent_other | 200      | 201    | 200    | 204    | 200      | 200
        """,
    ),
    # agent_templates: public ones for every signed-in user, private ones for their creator;
    # the creator writes. Target: the outsider's public template.
    "agent-templates": Resource(
        url="/api/v1/agent-templates/", target="tpl_public",
        create={"name": "T", "type": "media", "default_config": {"a": 1}}, update={"name": "renamed"},
        actions={"instantiate": ("post", "instantiate/", {"name": "From template"})},
        table="""
        actor     | list                             | retrieve | create | update | delete | instantiate
        owner     | tpl_public tpl_owner             | 200      | 201    | 403    | 403    | 201
        admin     | tpl_public                       | 200      | 201    | 403    | 403    | 201
        viewer    | tpl_public                       | 200      | 201    | 403    | 403    | 201
        outsider  | tpl_public tpl_other             | 200      | 201    | 200    | 204    | 201
        anonymous | -                                | 401      | 401    | 401    | 401    | 401
        superuser | tpl_public tpl_owner tpl_other   | 200      | 201    | 200    | 204    | 201
        """,
    ),
    # deployments: as their agent (read: owner + team members). One creation path (the agent's
    # deploy) and changes only through the state machine (stop): no create or update here; a
    # delete of a deployment that is not finished (this one is pending) is a 409 (issue 19).
    "deployments": Resource(
        url="/api/v1/deployments/", target="dep_team",
        create={"agent": "@agent_team", "trigger_type": "manual"}, update={"deployment_url": "https://x.test/"},
        table="""
        actor     | list                           | retrieve | create | update | delete
        owner     | dep_team dep_private           | 200      | 405    | 405    | 409
        admin     | dep_team                       | 200      | 405    | 405    | 409
        manager   | dep_team                       | 200      | 405    | 405    | 409
        viewer    | dep_team                       | 200      | 405    | 405    | 403
        outsider  | dep_other                      | 404      | 405    | 405    | 404
        anonymous | -                              | 401      | 401    | 401    | 401
        superuser | dep_team dep_private dep_other | 200      | 405    | 405    | 409
        """,
    ),
    # workflows (RLS on, no seed policy): as deployments.
    "workflows": Resource(
        url="/api/v1/workflows/", target="wf_team",
        create={"agent": "@agent_team", "name": "wf"}, update={"description": "changed"},
        table="""
        actor     | list                        | retrieve | create | update | delete
        owner     | wf_team wf_private          | 200      | 201    | 200    | 204
        admin     | wf_team                     | 200      | 201    | 200    | 204
        manager   | wf_team                     | 200      | 201    | 200    | 204
        viewer    | wf_team                     | 200      | 400    | 403    | 403
        outsider  | wf_other                    | 404      | 400    | 404    | 404
        anonymous | -                           | 401      | 401    | 401    | 401
        superuser | wf_team wf_private wf_other | 200      | 201    | 200    | 204
        """,
    ),
    # workflow_executions, agent_thoughts, agent_metrics: read as their agent; users never write.
    "workflow-executions": Resource(
        url="/api/v1/workflow-executions/", target="exec_team", create={}, update={"status": "error"},
        table="""
        actor     | list                              | retrieve | create | update | delete
        owner     | exec_team exec_private            | 200      | 405    | 405    | 405
        manager   | exec_team                         | 200      | 405    | 405    | 405
        viewer    | exec_team                         | 200      | 405    | 405    | 405
        outsider  | exec_other                        | 404      | 405    | 405    | 405
        anonymous | -                                 | 401      | 401    | 401    | 401
        superuser | exec_team exec_private exec_other | 200      | 405    | 405    | 405
        """,
    ),
    "agent-thoughts": Resource(
        url="/api/v1/agent-thoughts/", target="thought_team", create={}, update={"content": "x"},
        table="""
        actor     | list                                       | retrieve | create | update | delete
        owner     | thought_team thought_private               | 200      | 405    | 405    | 405
        viewer    | thought_team                               | 200      | 405    | 405    | 405
        outsider  | thought_other                              | 404      | 405    | 405    | 405
        anonymous | -                                          | 401      | 401    | 401    | 401
        superuser | thought_team thought_private thought_other | 200      | 405    | 405    | 405
        """,
    ),
    "agent-metrics": Resource(
        url="/api/v1/agent-metrics/", target="metric_team", create={}, update={"value": "1"},
        table="""
        actor     | list                                    | retrieve | create | update | delete
        owner     | metric_team metric_private              | 200      | 405    | 405    | 405
        admin     | metric_team                             | 200      | 405    | 405    | 405
        outsider  | metric_other                            | 404      | 405    | 405    | 405
        anonymous | -                                       | 401      | 401    | 401    | 401
        superuser | metric_team metric_private metric_other | 200      | 405    | 405    | 405
        """,
    ),
    # notifications: the recipient only (seed); the recipient marks read and deletes. Expired
    # ones (`note_owner_expired`) are in no list.
    "notifications": Resource(
        url="/api/v1/notifications/", target="note_owner", create={}, update={"title": "x"},
        actions={"mark_read": ("post", "mark-read/", None)},
        table="""
        actor     | list                  | retrieve | create | update | delete | mark_read
        owner     | note_owner            | 200      | 405    | 405    | 204    | 200
        admin     | -                     | 404      | 405    | 405    | 404    | 404
        outsider  | note_other            | 404      | 405    | 405    | 404    | 404
        anonymous | -                     | 401      | 401    | 401    | 401    | 401
        superuser | note_owner note_other | 200      | 405    | 405    | 204    | 200
        """,
    ),
    # teams: members read; the team admin changes and deletes; anyone creates (and becomes admin).
    "teams": Resource(
        url="/api/v1/teams/", target="team",
        create={"name": "New team", "slug": "new-team"}, update={"name": "Renamed"},
        table="""
        actor     | list            | retrieve | create | update | delete
        owner     | -               | 404      | 201    | 404    | 404
        admin     | team            | 200      | 201    | 200    | 204
        manager   | team            | 200      | 201    | 403    | 403
        viewer    | team            | 200      | 201    | 403    | 403
        outsider  | team_other      | 404      | 201    | 404    | 404
        anonymous | -               | 401      | 401    | 401    | 401
        superuser | team team_other | 200      | 201    | 200    | 204
        """,
    ),
    # user_roles: members of the team read; the team admin grants, changes and revokes; a member
    # may delete their own role (leave). Target: the viewer's membership. Granting in a team one
    # does not administer is a 400 (the team id is not revealed).
    "team-roles": Resource(
        url="/api/v1/team-roles/", target="role_viewer",
        create={"team": "@team", "user": "@owner", "role": "viewer"}, update={"role": "agent_manager"},
        table="""
        actor     | list                                                | retrieve | create | update | delete
        owner     | -                                                   | 404      | 400    | 404    | 404
        admin     | role_admin role_manager role_viewer                 | 200      | 201    | 200    | 204
        manager   | role_admin role_manager role_viewer                 | 200      | 400    | 403    | 403
        viewer    | role_admin role_manager role_viewer                 | 200      | 400    | 403    | 204
        outsider  | role_outsider                                       | 404      | 400    | 404    | 404
        anonymous | -                                                   | 401      | 401    | 401    | 401
        superuser | role_admin role_manager role_viewer role_outsider   | 200      | 201    | 200    | 204
        """,
    ),
    # users: self, and members of a shared team (public profile); read-only here (see users/me).
    "users": Resource(
        url="/api/v1/users/", target="manager", create={"email": "x@example.com"}, update={"full_name": "x"},
        table="""
        actor     | list                                              | retrieve | create | update | delete
        owner     | owner                                             | 404      | 405    | 405    | 405
        admin     | admin manager viewer                              | 200      | 405    | 405    | 405
        viewer    | admin manager viewer                              | 200      | 405    | 405    | 405
        outsider  | outsider                                          | 404      | 405    | 405    | 405
        anonymous | -                                                 | 401      | 401    | 401    | 401
        superuser | owner admin manager viewer outsider superuser     | 200      | 405    | 405    | 405
        """,
    ),
    # api_usage: the user it belongs to reads; nobody writes through the API.
    "api-usage": Resource(
        url="/api/v1/api-usage/", target="usage_owner", create={}, update={"status_code": 500},
        table="""
        actor     | list                    | retrieve | create | update | delete
        owner     | usage_owner             | 200      | 405    | 405    | 405
        outsider  | usage_other             | 404      | 405    | 405    | 405
        anonymous | -                       | 401      | 401    | 401    | 401
        superuser | usage_owner usage_other | 200      | 405    | 405    | 405
        """,
    ),
}


def _cases():
    for name, resource in RESOURCES.items():
        for actor, expected in resource.rows().items():
            for operation, value in expected.items():
                yield pytest.param(name, actor, operation, value, id=f"{name}-{actor}-{operation}")


def _request(resource: Resource, operation: str, client, world):
    detail = f"{resource.url}{world[resource.target].pk}/"
    if operation == "list":
        return client.get(resource.url, {"page_size": 200})
    if operation == "retrieve":
        return client.get(detail)
    if operation == "create":
        return client.post(resource.url, _resolve(resource.create, world), format="json")
    if operation == "update":
        return client.patch(detail, _resolve(resource.update, world), format="json")
    if operation == "delete":
        return client.delete(detail)
    method, suffix, body = resource.actions[operation]
    return getattr(client, method)(detail + suffix, _resolve(body, world), format="json")


@pytest.mark.parametrize(("resource_name", "actor", "operation", "expected"), list(_cases()))
def test_policy_matrix(resource_name, actor, operation, expected, world, as_actor):
    resource = RESOURCES[resource_name]
    response = _request(resource, operation, as_actor(actor), world)
    if operation == "list":
        if actor == "anonymous":
            assert response.status_code == 401, response.content
            return
        assert response.status_code == 200, response.content
        wanted = set() if expected == "-" else set(expected.split())
        by_id = {str(obj.pk): key for key, obj in world.items() if hasattr(obj, "pk")}
        got = {by_id.get(row["id"], row["id"]) for row in results(response)}
        assert got == wanted
        return
    assert response.status_code == int(expected), response.content
    if response.status_code >= 400:
        assert "error" in response.json() and response.json()["error"]["message"]


def test_every_policy_viewset_is_in_the_matrix():
    """A new resource served under the row policy must get its table here."""
    from django.urls import get_resolver

    from echelon.api import urls
    from echelon.api.viewsets import PolicyMixin

    prefixes = set()
    for include in get_resolver(urls).url_patterns:
        for pattern in getattr(include, "url_patterns", []):
            view_class = getattr(pattern.callback, "cls", None)
            if view_class is not None and issubclass(view_class, PolicyMixin):
                prefixes.add(str(pattern.pattern).lstrip("^").split("/")[0])
    assert len(prefixes) >= 12
    assert prefixes <= set(RESOURCES), prefixes - set(RESOURCES)
