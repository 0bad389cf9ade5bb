"""The access policy (README "Access policy") as a matrix: actor × operation → status, and for
lists the exact set of rows. Each table below reads like the policy table. Run over `/api/v1`
(tests/api/test_policy_matrix.py) and `/rest/v1` (tests/api/test_rest_policy_matrix.py);
tests/api/test_policy_matrix.py's guard fails when a route or action is missing here.

Actors: `owner` owns agents but is in no team; `admin`, `manager` (agent_manager) and `viewer`
are members of `team` (where the owner's agent_team lives); `outsider` is admin of another
team; `anonymous` has no token; `superuser` sees everything. Every table has a line for each.
Rows: `<kind>_team` (owner's, in the team), `<kind>_private` (owner's, no team),
`<kind>_other` (outsider's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACTORS = ("owner", "admin", "manager", "viewer", "outsider", "anonymous", "superuser")


@dataclass
class Resource:
    url: str
    target: str  # world key of the row used for detail operations
    table: str  # actor | list | one column per operation
    create: dict | None = None  # body (values naming world keys are replaced by their ids)
    update: dict = field(default_factory=dict)
    actions: dict = field(default_factory=dict)  # column → (method, url suffix of the row, body)
    collection: dict = field(default_factory=dict)  # column → (method, url suffix of the list, body)
    row_sets: frozenset = frozenset({"list"})  # columns whose cells are the rows the answer holds

    def rows(self) -> dict[str, dict[str, str]]:
        lines = [line.split("|") for line in self.table.strip().splitlines()]
        header = [cell.strip() for cell in lines[0]]
        return {
            cells[0].strip(): {header[i]: cells[i].strip() for i in range(1, len(header))} for cells in lines[1:]
        }


def resolve_body(body, world):
    """`body` with every "@<world key>" replaced by that row's id."""
    if isinstance(body, dict):
        return {k: resolve_body(v, world) for k, v in body.items()}
    if isinstance(body, list):
        return [resolve_body(v, world) for v in body]
    if isinstance(body, str) and body.startswith("@"):
        return str(world[body[1:]].pk)
    return body


RESOURCES = {
    # agents: owner (seed) and team members (seed) read; owner, team admin and agent_manager
    # change, activate, pause (extension); only the owner deletes.
    "agents": Resource(
        url="/api/v1/agents/", target="agent_team",
        create={"name": "New agent", "type": "market"}, update={"description": "changed"},
        actions={"activate": ("post", "activate/", None), "pause": ("post", "pause/", None),
                 "deploy": ("post", "deploy/", {"trigger_config": {"by": "matrix"}})},
        collection={"dashboard": ("get", "dashboard/", None)},
        row_sets=frozenset({"list", "dashboard"}),
        table="""
        actor     | list                                 | retrieve | create | update | delete | activate | pause | deploy | dashboard
        owner     | agent_team agent_private             | 200      | 201    | 200    | 204    | 200      | 200   | 202    | agent_team agent_private
        admin     | agent_team                           | 200      | 201    | 200    | 403    | 200      | 200   | 202    | agent_team
        manager   | agent_team                           | 200      | 201    | 200    | 403    | 200      | 200   | 202    | agent_team
        viewer    | agent_team                           | 200      | 201    | 403    | 403    | 403      | 403   | 403    | agent_team
        outsider  | agent_other                          | 404      | 201    | 404    | 404    | 404      | 404   | 404    | agent_other
        anonymous | -                                    | 401      | 401    | 401    | 401    | 401      | 401   | 401    | 401
        superuser | agent_team agent_private agent_other | 200      | 201    | 200    | 204    | 200      | 200   | 202    | agent_team agent_private agent_other
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
        manager   | tpl_public                       | 200      | 201    | 403    | 403    | 201
        viewer    | tpl_public                       | 200      | 201    | 403    | 403    | 201
        outsider  | tpl_public tpl_other             | 200      | 201    | 200    | 204    | 201
        anonymous | -                                | 401      | 401    | 401    | 401    | 401
        superuser | tpl_public tpl_owner tpl_other   | 200      | 201    | 200    | 204    | 201
        """,
    ),
    # deployments: as their agent (read: owner + team members; stop: owner, admin, agent_manager).
    # One creation path (the agent's deploy) and changes only through the state machine (stop): no
    # create or update here; a delete of a deployment that is not finished (this one is pending) is
    # a 409 (issue 19).
    "deployments": Resource(
        url="/api/v1/deployments/", target="dep_team",
        create={"agent": "@agent_team", "trigger_type": "manual"}, update={"deployment_url": "https://x.test/"},
        actions={"stop": ("post", "stop/", None)},  # dep_team is pending: stopping cancels it
        table="""
        actor     | list                           | retrieve | create | update | delete | stop
        owner     | dep_team dep_private           | 200      | 405    | 405    | 409    | 200
        admin     | dep_team                       | 200      | 405    | 405    | 409    | 200
        manager   | dep_team                       | 200      | 405    | 405    | 409    | 200
        viewer    | dep_team                       | 200      | 405    | 405    | 403    | 403
        outsider  | dep_other                      | 404      | 405    | 405    | 404    | 404
        anonymous | -                              | 401      | 401    | 401    | 401    | 401
        superuser | dep_team dep_private dep_other | 200      | 405    | 405    | 409    | 200
        """,
    ),
    # workflows (RLS on, no seed policy): as deployments.
    "workflows": Resource(
        url="/api/v1/workflows/", target="wf_team",
        create={"agent": "@agent_team", "name": "wf"}, update={"description": "changed"},
        actions={"rotate_secret": ("post", "rotate-secret/", None)},
        table="""
        actor     | list                        | retrieve | create | update | delete | rotate_secret
        owner     | wf_team wf_private          | 200      | 201    | 200    | 204    | 200
        admin     | wf_team                     | 200      | 201    | 200    | 204    | 200
        manager   | wf_team                     | 200      | 201    | 200    | 204    | 200
        viewer    | wf_team                     | 200      | 400    | 403    | 403    | 403
        outsider  | wf_other                    | 404      | 400    | 404    | 404    | 404
        anonymous | -                           | 401      | 401    | 401    | 401    | 401
        superuser | wf_team wf_private wf_other | 200      | 201    | 200    | 204    | 200
        """,
    ),
    # workflow_executions, agent_thoughts, agent_metrics: read as their agent; users never write.
    "workflow-executions": Resource(
        url="/api/v1/workflow-executions/", target="exec_team", create={}, update={"status": "error"},
        # Thoughts are written by the agent's writers (n8n's token); the mind map is read as the execution.
        actions={"thoughts": ("post", "thoughts/", [{"node_id": "n1", "node_type": "processing", "content": "x"}]),
                 "mind_map": ("get", "mind-map/", None)},
        table="""
        actor     | list                              | retrieve | create | update | delete | thoughts | mind_map
        owner     | exec_team exec_private            | 200      | 405    | 405    | 405    | 201      | 200
        admin     | exec_team                         | 200      | 405    | 405    | 405    | 201      | 200
        manager   | exec_team                         | 200      | 405    | 405    | 405    | 201      | 200
        viewer    | exec_team                         | 200      | 405    | 405    | 405    | 403      | 200
        outsider  | exec_other                        | 404      | 405    | 405    | 405    | 404      | 404
        anonymous | -                                 | 401      | 401    | 401    | 401    | 401      | 401
        superuser | exec_team exec_private exec_other | 200      | 405    | 405    | 405    | 201      | 200
        """,
    ),
    "agent-thoughts": Resource(
        url="/api/v1/agent-thoughts/", target="thought_team", create={}, update={"content": "x"},
        table="""
        actor     | list                                       | retrieve | create | update | delete
        owner     | thought_team thought_private               | 200      | 405    | 405    | 405
        admin     | thought_team                               | 200      | 405    | 405    | 405
        manager   | thought_team                               | 200      | 405    | 405    | 405
        viewer    | thought_team                               | 200      | 405    | 405    | 405
        outsider  | thought_other                              | 404      | 405    | 405    | 405
        anonymous | -                                          | 401      | 401    | 401    | 401
        superuser | thought_team thought_private thought_other | 200      | 405    | 405    | 405
        """,
    ),
    "agent-metrics": Resource(
        url="/api/v1/agent-metrics/", target="metric_team", create={}, update={"value": "1"},
        # bulk writes metrics of agents the actor may change (others: a 400 naming the row);
        # aggregate reads over the agents the actor may read.
        collection={
            "bulk": ("post", "bulk/", [{"agent_id": "@agent_team", "metric_type": "response_time", "value": 1,
                                        "unit": "ms"}]),
            "aggregate": ("get", "aggregate/", {"metric_type": "response_time", "agent": "@agent_team"}),
        },
        table="""
        actor     | list                                    | retrieve | create | update | delete | bulk | aggregate
        owner     | metric_team metric_private              | 200      | 405    | 405    | 405    | 201  | 200
        admin     | metric_team                             | 200      | 405    | 405    | 405    | 201  | 200
        manager   | metric_team                             | 200      | 405    | 405    | 405    | 201  | 200
        viewer    | metric_team                             | 200      | 405    | 405    | 405    | 400  | 200
        outsider  | metric_other                            | 404      | 405    | 405    | 405    | 400  | 404
        anonymous | -                                       | 401      | 401    | 401    | 401    | 401  | 401
        superuser | metric_team metric_private metric_other | 200      | 405    | 405    | 405    | 201  | 200
        """,
    ),
    # notifications: the recipient only (seed); the recipient marks read and deletes. Expired
    # ones (`note_owner_expired`) are in no list.
    "notifications": Resource(
        url="/api/v1/notifications/", target="note_owner", create={}, update={"title": "x"},
        actions={"mark_read": ("post", "mark-read/", None)},
        collection={"mark_all_read": ("post", "mark-all-read/", None), "unread_count": ("get", "unread-count/", None)},
        table="""
        actor     | list                  | retrieve | create | update | delete | mark_read | mark_all_read | unread_count
        owner     | note_owner            | 200      | 405    | 405    | 204    | 200       | 200           | 200
        admin     | -                     | 404      | 405    | 405    | 404    | 404       | 200           | 200
        manager   | -                     | 404      | 405    | 405    | 404    | 404       | 200           | 200
        viewer    | -                     | 404      | 405    | 405    | 404    | 404       | 200           | 200
        outsider  | note_other            | 404      | 405    | 405    | 404    | 404       | 200           | 200
        anonymous | -                     | 401      | 401    | 401    | 401    | 401       | 401           | 401
        superuser | note_owner note_other | 200      | 405    | 405    | 204    | 200       | 200           | 200
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
        collection={"me": ("get", "me/", None), "me_update": ("patch", "me/", {"full_name": "Me"})},
        table="""
        actor     | list                                              | retrieve | create | update | delete | me  | me_update
        owner     | owner                                             | 404      | 405    | 405    | 405    | 200 | 200
        admin     | admin manager viewer                              | 200      | 405    | 405    | 405    | 200 | 200
        manager   | admin manager viewer                              | 200      | 405    | 405    | 405    | 200 | 200
        viewer    | admin manager viewer                              | 200      | 405    | 405    | 405    | 200 | 200
        outsider  | outsider                                          | 404      | 405    | 405    | 405    | 200 | 200
        anonymous | -                                                 | 401      | 401    | 401    | 401    | 401 | 401
        superuser | owner admin manager viewer outsider superuser     | 200      | 405    | 405    | 405    | 200 | 200
        """,
    ),
    # api_usage: the user it belongs to reads; nobody writes through the API.
    "api-usage": Resource(
        url="/api/v1/api-usage/", target="usage_owner", create={}, update={"status_code": 500},
        collection={"summary": ("get", "summary/", None)},
        table="""
        actor     | list                    | retrieve | create | update | delete | summary
        owner     | usage_owner             | 200      | 405    | 405    | 405    | 200
        admin     | -                       | 404      | 405    | 405    | 405    | 200
        manager   | -                       | 404      | 405    | 405    | 405    | 200
        viewer    | -                       | 404      | 405    | 405    | 405    | 200
        outsider  | usage_other             | 404      | 405    | 405    | 405    | 200
        anonymous | -                       | 401      | 401    | 401    | 401    | 401
        superuser | usage_owner usage_other | 200      | 405    | 405    | 405    | 200
        """,
    ),
}


def request(resource: Resource, operation: str, client, world):
    """Make the matrix's request for `operation` of `resource` as `client`."""
    detail = f"{resource.url}{world[resource.target].pk}/"
    if operation == "list":
        return client.get(resource.url, {"page_size": 200})
    if operation == "retrieve":
        return client.get(detail)
    if operation == "create":
        return client.post(resource.url, resolve_body(resource.create, world), format="json")
    if operation == "update":
        return client.patch(detail, resolve_body(resource.update, world), format="json")
    if operation == "delete":
        return client.delete(detail)
    if operation in resource.actions:
        method, suffix, body = resource.actions[operation]
        url = detail + suffix
    else:
        method, suffix, body = resource.collection[operation]
        url = resource.url + suffix
    if method == "get":
        return client.get(url, resolve_body(body or {}, world))
    return getattr(client, method)(url, resolve_body(body, world), format="json")
