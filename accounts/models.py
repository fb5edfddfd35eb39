from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Collate, Lower, Upper
from django.utils import timezone

from accounts.validators import (
    LANGUAGE_MAX_LENGTH,
    TIME_ZONE_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    validate_username_characters,
)


class PrefixSearchIndex(models.Index):
    """An index on one text field that serves ``field__istartswith``, the user list's search.

    Django compiles ``istartswith`` differently per database, so the index differs too:

    - PostgreSQL: ``UPPER("field"::text) LIKE UPPER('term%')`` can use an index on
      ``UPPER(field)`` only if the index's collation is "C" (or it uses a pattern
      operator class), whatever the database's own collation.
    - SQLite: ``"field" LIKE 'term%' ESCAPE '\\'`` (LIKE ignores ASCII case) uses an
      index only on the column itself with the NOCASE collation (its LIKE optimization).
    - Any other database: a plain index on the column.
    """

    def __init__(self, *, field_name, name):
        self.field_name = field_name
        super().__init__(fields=[field_name], name=name)

    def deconstruct(self):
        path, _args, _kwargs = super().deconstruct()
        return path, (), {"field_name": self.field_name, "name": self.name}

    def create_sql(self, model, schema_editor, using="", **kwargs):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            index = models.Index(Collate(Upper(self.field_name), "C"), name=self.name)
        elif vendor == "sqlite":
            index = models.Index(Collate(self.field_name, "NOCASE"), name=self.name)
        else:
            index = models.Index(fields=[self.field_name], name=self.name)
        return index.create_sql(model, schema_editor, using=using, **kwargs)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        """The user named ``username`` ignoring ASCII case, the one case-folding usernames know (they are ASCII).

        A name with any other character is nobody's: PostgreSQL's UPPER folds ``ı`` to ``I`` and ``ſ``
        to ``S``, so ``admın`` would otherwise find ``admin``. The database narrows the search (an index
        serves it), Python confirms with ASCII folding alone.
        """
        username = str(username)
        if not username.isascii():
            raise self.model.DoesNotExist("No user has a name with characters other than ASCII.")
        matches = [user for user in self.filter(username__iexact=username) if user.username.lower() == username.lower()]
        if not matches:
            raise self.model.DoesNotExist(f"No user named {username!r}.")
        if len(matches) > 1:
            raise self.model.MultipleObjectsReturned(f"More than one user named {username!r}.")
        return matches[0]

    def create_user(self, username, email, password=None, **extra_fields):
        """Low-level creation for Django's own tooling; Panel code calls accounts.services.user_create."""
        user = self.model(username=username, email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username, email, password=None, **extra_fields):
        return self.create_user(username, email, password, is_superuser=True, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who may log in to the panel.

    ``date_joined`` is the creation time shown in the user list. Later apps hang
    their own records (tokens, passkeys, second factors) off this model.
    """

    username = models.CharField(
        max_length=USERNAME_MAX_LENGTH,
        unique=True,
        validators=[validate_username_characters],
        help_text="Letters, digits, underscores (_) and hyphens (-).",
    )
    email = models.EmailField(max_length=254)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField("created at", default=timezone.now)
    # The data scope: this company and its subsidiaries. Empty: panel staff, whose scope is the whole panel.
    company = models.ForeignKey(
        "organisation.Company", null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    # A sub-user belongs to its parent user and is deleted with it.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="sub_users")
    # After this moment the user can no longer log in by any means; empty means never.
    expires_at = models.DateTimeField("expires at", null=True, blank=True)
    # Login-session policy: sessions that last while the browser keeps them, or a lifetime of
    # their own (seconds; empty: PANEL_SESSION_AGE), and whether a new login ends the others.
    long_term_sessions = models.BooleanField(default=False)
    session_lifetime = models.PositiveIntegerField(null=True, blank=True)
    exclusive_login = models.BooleanField(default=False)
    # Email the user when a browser that never logged in to this account does (PANEL_NOTIFY_NEW_LOGIN above it).
    notify_new_login = models.BooleanField("email me about logins from new browsers", default=True)
    # The user's own language (a code of settings.LANGUAGES; blank: the browser's) and IANA time zone (blank:
    # PANEL_TIME_ZONE), for pages, API answers and emails (core.localisation); checked by accounts.validators.
    language = models.CharField(max_length=LANGUAGE_MAX_LENGTH, blank=True, default="")
    time_zone = models.CharField(max_length=TIME_ZONE_MAX_LENGTH, blank=True, default="")

    objects = UserManager()

    # For the one API request an access token limited to chosen permissions authenticates, those names
    # (tokens.authentication sets it on the user it loads); None: no limit. Every permission check of
    # pages, endpoints, selectors and services asks has_perm, so each answers through the token.
    permission_limit = None

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["-date_joined", "-id"]
        permissions = [("use_api", "Can call the JSON API with access tokens (the API module)")]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]
        indexes = [
            models.Index(fields=["-date_joined", "-id"], name="accounts_user_created_idx"),
            # The user list searches the start of the username or the email (selectors.user_list).
            PrefixSearchIndex(field_name="username", name="accounts_user_username_prefix"),
            PrefixSearchIndex(field_name="email", name="accounts_user_email_prefix"),
            # The few superusers, found without scanning every user (organisation.selectors.user_managers).
            models.Index(
                fields=["is_superuser"], condition=models.Q(is_superuser=True), name="accounts_user_superusers"
            ),
        ]

    def __str__(self):
        return self.username

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def has_perm(self, perm, obj=None):
        """Django's answer (roles, direct permissions, superuser), narrowed to ``permission_limit`` if set."""
        if self.permission_limit is not None and perm not in self.permission_limit:
            return False
        return super().has_perm(perm, obj)
