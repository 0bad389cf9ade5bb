"""`/api/v1/notifications/` and `/api/v1/agent-thoughts/`."""

from rest_framework.routers import SimpleRouter

from notifications.api.views import AgentThoughtViewSet, NotificationViewSet

router = SimpleRouter()
router.register("notifications", NotificationViewSet, basename="notification")
router.register("agent-thoughts", AgentThoughtViewSet, basename="agentthought")

urlpatterns = router.urls
