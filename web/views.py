"""Page views: sign in/out, dashboard, notifications, agent detail, execution mind map, and the
session-authenticated endpoint that renews the page's realtime token.

Views are thin: reads come from `web.selectors` (row policies), writes happen in the browser
through the REST API (same services, same checks). Pages carry a short-lived JWT for the
websocket, so they are never cached.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from web import selectors
from web.forms import EmailAuthenticationForm
from echelon.auth.tokens import access_token_with_expiry

NOTIFICATIONS_PER_PAGE = 50


def page_context(request, page: str, **extra) -> dict:
    """What every signed-in page needs: the bell's count and the realtime socket's settings."""
    token, expires_at = access_token_with_expiry(request.user)
    return {
        "page": page,
        "unread_count": selectors.unread_count(user=request.user),
        "live_config": {
            "socket_path": "/realtime/v1/websocket",
            "token": token,
            "expires_at": expires_at,
            "token_url": reverse("web-realtime-token"),
            "user_id": str(request.user.pk),
            "user_name": request.user.full_name or request.user.email,  # shown to other viewers (presence)
        },
        **extra,
    }


class SignInView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """POST only (Django 5): the sign-out button is a small form with the CSRF token."""


@never_cache
@login_required
def dashboard(request):
    rows = selectors.dashboard_rows(user=request.user)
    selected = {name: request.GET.get(name, "") for name in selectors.DASHBOARD_FILTERS}
    return render(request, "web/dashboard.html", page_context(
        request, "dashboard", rows=rows, selected=selected, choices=selectors.dashboard_filter_choices(rows),
        new_agent=selectors.new_agent_choices(user=request.user),
    ))


@never_cache
@login_required
def notifications(request):
    paginator = Paginator(selectors.notification_page(user=request.user), NOTIFICATIONS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "web/notifications.html", page_context(request, "notifications", page_obj=page))


@never_cache
@login_required
def agent_detail(request, pk):
    data = selectors.agent_page(user=request.user, pk=pk)
    charts = selectors.agent_charts(user=request.user, agent=data["agent"], metric_series=data["metric_series"])
    return render(request, "web/agent_detail.html", page_context(request, "agent", charts=charts, **data))


@never_cache
@login_required
def mind_map(request, pk):
    data = selectors.execution_page(user=request.user, pk=pk)
    return render(request, "web/mind_map.html", page_context(request, "mind-map", **data))


@never_cache
@require_POST
def realtime_token(request):
    """A fresh access token for the page's socket. Session + CSRF (Django's middleware)."""
    if not request.user.is_authenticated or not request.user.is_active:
        return JsonResponse({"detail": "Sign in first"}, status=401)
    token, expires_at = access_token_with_expiry(request.user)
    return JsonResponse({"token": token, "expires_at": expires_at})
