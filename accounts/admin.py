"""Admin for users (email login), teams and team roles."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.models import Team, User, UserRole
from echelon.admin import PolicyInlineMixin, PolicyModelAdmin


class UserCreationForm(AdminUserCreationForm):
    """The admin's add form for the email-login user: email, password1/password2."""

    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class UserAdminChangeForm(UserChangeForm):
    """Change form with Django's read-only password-hash widget (link to the password form)."""

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


@admin.register(User)
class UserAdmin(PolicyModelAdmin, DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "subscription_tier", "is_staff", "is_superuser", "is_active",
                    "last_login", "created_at")
    list_filter = ("subscription_tier", "is_staff", "is_superuser", "is_active", "created_at")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("id", "created_at", "updated_at", "last_login")
    filter_horizontal = ("groups", "user_permissions")
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("full_name", "avatar_url", "subscription_tier")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),
        ("Profile", {"fields": ("full_name", "subscription_tier")}),
    )
    # Only superusers create accounts; staff edit the profile the policy lets them edit.
    staff_can_add = False

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Nobody grants themselves privileges through their own profile.
            fields += ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")
        return fields


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

    # Teams are created by superusers (or the API); a new team has no admin the policy could see.
    staff_can_add = False

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


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
