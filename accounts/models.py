"""The seed's user-management tables: `users`, `teams`, `user_roles`.

`users` is Django's user model: the seed's columns plus what Django auth needs (password,
last_login, is_active, is_staff, is_superuser). Email is the login.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import URLValidator
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

from echelon.db.models import TouchingQuerySet, UpdatedAtModel, choice_check, created_at, uuid_pk


# A profile picture's address, pushed to every teammate with each change of the row: bounded
# (the seed's TEXT had no limit; 2 MB were accepted), in the form and in the database.
AVATAR_URL_MAX_LENGTH = 2048


class SubscriptionTier(models.TextChoices):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class TeamPlan(models.TextChoices):
    STARTER = "starter"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class Role(models.TextChoices):
    ADMIN = "admin"
    AGENT_MANAGER = "agent_manager", "Agent manager"
    VIEWER = "viewer"


class UserQuerySet(TouchingQuerySet):
    pass


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(UpdatedAtModel, AbstractBaseUser, PermissionsMixin):
    id = uuid_pk()
    email = models.EmailField(max_length=255, unique=True)
    full_name = models.CharField(max_length=255, null=True, blank=True)
    avatar_url = models.TextField(
        null=True, blank=True, max_length=AVATAR_URL_MAX_LENGTH,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=f"An http(s) URL of at most {AVATAR_URL_MAX_LENGTH} characters.",
    )
    subscription_tier = models.CharField(
        max_length=50, choices=SubscriptionTier, default=SubscriptionTier.FREE,
        db_default=SubscriptionTier.FREE, null=True,
    )
    # Django auth's own columns (not in the seed). A user inserted by plain SQL cannot log in
    # until a password is set ("!" is Django's unusable-password marker).
    password = models.CharField(max_length=128, db_default="!")
    is_superuser = models.BooleanField(default=False, db_default=False)
    is_active = models.BooleanField(default=True, db_default=True)
    is_staff = models.BooleanField(default=False, db_default=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "users"
        ordering = ["email"]
        constraints = [
            choice_check("users", "subscription_tier", SubscriptionTier),
            # TEXT stays TEXT (the seed's type); the bound holds for every writer, raw SQL too.
            models.CheckConstraint(condition=LessThanOrEqual(Length("avatar_url"), AVATAR_URL_MAX_LENGTH),
                                   name="users_avatar_url_max_length"),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.get_full_name()


class Team(UpdatedAtModel):
    id = uuid_pk()
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=100, unique=True)
    plan = models.CharField(
        max_length=50, choices=TeamPlan, default=TeamPlan.STARTER, db_default=TeamPlan.STARTER, null=True
    )
    # Seed: no ON DELETE; a team outlives the account that created it.
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, db_column="created_by",
        related_name="created_teams", db_index=False,
    )

    class Meta:
        db_table = "teams"
        ordering = ["name"]
        constraints = [choice_check("teams", "plan", TeamPlan)]
        indexes = [models.Index(fields=["created_by"], name="idx_teams_created_by")]

    def __str__(self) -> str:
        return self.name


class UserRole(models.Model):
    """A user's membership of a team, with its role. One row per (user, team)."""

    id = uuid_pk()
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, db_column="user_id", related_name="roles", db_index=False
    )
    role = models.CharField(max_length=50, choices=Role)
    # Seed: no ON DELETE; a role without its team means nothing, so it goes with the team.
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, db_column="team_id", related_name="roles", db_index=False
    )
    # Seed: no ON DELETE; the grant stays when the granting account is deleted.
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, db_column="granted_by",
        related_name="granted_roles", db_index=False,
    )
    granted_at = created_at()

    class Meta:
        db_table = "user_roles"
        ordering = ["granted_at"]
        constraints = [
            choice_check("user_roles", "role", Role),
            models.UniqueConstraint(fields=["user", "team"], name="user_roles_user_team_unique"),
        ]
        indexes = [
            models.Index(fields=["team", "role"], name="idx_user_roles_team_role"),
            models.Index(fields=["granted_by"], name="idx_user_roles_granted_by"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} in {self.team_id}"
