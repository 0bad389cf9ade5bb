"""Admin for users (email login), teams and team roles.

Which user columns a form or the list shows follows `UserPolicy.columns`: a staff user sees a
teammate's public profile only, superusers (the operator console) the tier and flags too; the
password hash is shown to no one (its form is linked instead).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.contrib.auth.forms import AdminUserCreationForm
from django.urls import reverse
from django.utils.html import format_html
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import Team, User, UserRole
from echelon.admin import PolicyInlineMixin, PolicyModelAdmin
from echelon.admin_columns import shows_columns


class UserCreationForm(AdminUserCreationForm):
    """The admin's add form for the email-login user: email, password1/password2."""

    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class UserAdminChangeForm(forms.ModelForm):
    """The change form: no password field (Django's shows parts of the hash); see `password_form`."""

    class Meta:
        model = User
        fields = "__all__"


class UserRoleInline(PolicyInlineMixin, admin.TabularInline):
    model = UserRole
    fk_name = "team"
    extra = 0
    fields = ("user", "role", "granted_by", "granted_at")
    readonly_fields = ("granted_at",)
    autocomplete_fields = ("user", "granted_by")
    owner_field = "granted_by"


@admin.register(User)
class UserAdmin(PolicyModelAdmin, DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "subscription_tier", "is_staff", "is_superuser", "is_active",
                    "last_login")
    list_filter = ("subscription_tier", "is_staff", "is_superuser", "is_active", "created_at")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("id", "created_at", "updated_at", "last_login", "password_form")
    # No groups or model permissions: for staff the policy is the rule, superusers bypass it.
    fieldsets = (
        (None, {"fields": ("id", "email", "password_form")}),
        ("Profile", {"fields": ("full_name", "avatar_url", "subscription_tier")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),
        ("Profile", {"fields": ("full_name", "subscription_tier")}),
    )
    # Only superusers create accounts; staff edit the profile the policy lets them edit.
    staff_can_add = False

    @admin.display(description="password")
    @shows_columns("is_staff")  # shown to the user itself and operators, never to a teammate
    def password_form(self, obj):
        if obj is None or obj.pk is None:
            return None
        link = reverse(f"{self.admin_site.name}:auth_user_password_change", args=[obj.pk])  # Django names it so
        state = "set" if obj.has_usable_password() else "not set (cannot log in)"
        return format_html('{} · <a href="{}">set a new password</a>', state, link)


@admin.register(Team)
class TeamAdmin(PolicyModelAdmin):
    list_display = ("name", "slug", "plan", "created_by", "created_at", "updated_at")
    list_filter = ("plan", "created_at")
    list_select_related = ("created_by",)
    search_fields = ("name", "slug")
    search_uuid_fields = ("created_by_id",)
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("created_by",)
    readonly_fields = ("id", "created_at", "updated_at")
    fields = ("id", "name", "slug", "plan", "created_by", "created_at", "updated_at")
    inlines = (UserRoleInline,)
    owner_field = "created_by"

    # Teams are created by superusers (or the API); a new team has no admin the policy could see.
    staff_can_add = False


@admin.register(UserRole)
class UserRoleAdmin(PolicyModelAdmin):
    list_display = ("user", "role", "team", "granted_by", "granted_at")
    list_filter = ("role", "granted_at")
    list_select_related = ("user", "team", "granted_by")
    search_fields = ("user__email", "team__name", "team__slug")
    search_uuid_fields = ("user_id", "team_id")
    autocomplete_fields = ("user", "team", "granted_by")
    readonly_fields = ("id", "granted_at")
    date_hierarchy = "granted_at"
    owner_field = "granted_by"


# Unused here: access is the row policies' (no groups or model permissions), and refresh tokens
# are blacklisted by the token endpoints, not by hand.
admin.site.unregister(Group)
for _model in (BlacklistedToken, OutstandingToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
