"""`/api/v1/teams/`, `/api/v1/team-roles/`, `/api/v1/users/` (and `users/me/`)."""

from rest_framework.routers import SimpleRouter

from accounts.api.views import TeamRoleViewSet, TeamViewSet, UserViewSet

router = SimpleRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("team-roles", TeamRoleViewSet, basename="teamrole")
router.register("users", UserViewSet, basename="user")

urlpatterns = router.urls
