"""Factories for test data.

Users get a real Argon2 hash, computed once per test session and shared, so
tests exercise the production hasher without paying for it on every user.

Each factory stores its object as the app's own service would (secrets
encrypted, codes hashed, sessions logged in) but writes no audit event: a
test that needs the service's event calls the service.
"""

import base64
import functools
import os
import secrets
from datetime import timedelta

import cbor2
import factory
import pyotp
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from django.utils.module_loading import import_string
from webauthn.helpers.generate_user_handle import generate_user_handle

from accounts.models import User
from core import crypto
from mfa import services as mfa_services
from mfa.models import AuthenticatorDevice, EmailCodeDevice, RecoveryCode, RecoveryCodeDevice
from organisation.models import Company, Role
from passkeys.models import Passkey, UserHandle
from tests.soft_authenticator import SoftAuthenticator, StoredCredential
from tokens import credentials
from tokens.models import AccessToken
from tokens.validators import clean_ip_allowlist
from usersessions import policy
from usersessions.models import UserSession

DEFAULT_PASSWORD = "Sturdy-pass-42"
_DESKTOP_BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@functools.cache
def _default_password_hash():
    return make_password(DEFAULT_PASSWORD)


class _ExtrasFactory(factory.django.DjangoModelFactory):
    """Declarations named in ``_extras`` are computed like fields but set on the instance, not given to the model."""

    _extras = ()

    class Meta:
        abstract = True

    @classmethod
    def _split(cls, kwargs):
        return {name: kwargs.pop(name) for name in cls._extras}

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        extras = cls._split(kwargs)
        instance = super()._build(model_class, *args, **kwargs)
        for name, value in extras.items():
            setattr(instance, name, value)
        return instance

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        extras = cls._split(kwargs)
        instance = super()._create(model_class, *args, **kwargs)
        for name, value in extras.items():
            setattr(instance, name, value)
        cls._created(instance)
        return instance

    @classmethod
    def _created(cls, instance):
        """What else a saved instance needs (rows it depends on)."""


# accounts


class UserFactory(factory.django.DjangoModelFactory):
    """A user with the default password (DEFAULT_PASSWORD) and no permissions."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.LazyFunction(_default_password_hash)


class AdminFactory(UserFactory):
    """A superuser."""

    username = factory.Sequence(lambda n: f"admin{n}")
    is_superuser = True


# organisation


class CompanyFactory(factory.django.DjangoModelFactory):
    """A company; give ``parent`` to make it a subsidiary."""

    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    parent = None


class GroupFactory(factory.django.DjangoModelFactory):
    """A plain Django group, with no Role row (the panel counts it as a panel-wide role)."""

    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Role {n}")


class RoleFactory(factory.django.DjangoModelFactory):
    """A role: its Django group (``group__name`` names it) and the company that owns it (none: panel-wide).

    ``permissions=["app_label.codename", ...]`` gives the role's group those permissions.
    """

    class Meta:
        model = Role
        skip_postgeneration_save = True

    group = factory.SubFactory(GroupFactory)
    company = None

    @factory.post_generation
    def permissions(role, create, extracted, **kwargs):
        for perm in extracted or ():
            app_label, codename = perm.split(".")
            role.group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


# tokens


class AccessTokenFactory(_ExtrasFactory):
    """An access token of ``user``, stored as tokens.services.token_create stores one: the secret encrypted.

    The plain ``secret`` and the ``bearer`` string (``pnl_<id>_<secret>``) are on the returned instance, as
    token_create hands them out once. ``ip_allowlist`` is normalised as the service does; ``expires_at`` is
    not checked, so that a test can make an expired token.
    """

    class Meta:
        model = AccessToken

    _extras = ("secret",)

    user = factory.SubFactory(UserFactory)
    name = ""
    secret = factory.LazyFunction(credentials.new_secret)
    encrypted_secret = factory.LazyAttribute(lambda token: crypto.encrypt(token.secret))
    ip_allowlist = factory.LazyFunction(list)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    created_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs["ip_allowlist"] = clean_ip_allowlist(list(kwargs["ip_allowlist"]))
        return super()._create(model_class, *args, **kwargs)

    @classmethod
    def _created(cls, token):
        token.bearer = credentials.bearer_string(token.pk, token.secret)


# passkeys


def cose_public_key(private_key):
    """The COSE (ES256) encoding of ``private_key``'s public key, as an authenticator sends it."""
    numbers = private_key.public_key().public_numbers()
    return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


class UserHandleFactory(factory.django.DjangoModelFactory):
    """The WebAuthn user handle of ``user`` (64 random bytes); the one already there if the user has one."""

    class Meta:
        model = UserHandle
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)
    handle = factory.LazyFunction(generate_user_handle)


class PasskeyFactory(_ExtrasFactory):
    """A passkey of ``user``, stored as a registration stores one, with the user's handle (made if missing).

    Its private key is in ``passkey.authenticator`` (a tests.soft_authenticator.SoftAuthenticator, a fresh one
    unless given), so ``passkey.authenticator.login(options)`` answers a login ceremony with it for ``rp_id``.
    """

    class Meta:
        model = Passkey

    _extras = ("authenticator", "private_key", "rp_id")

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Passkey {n}")
    credential_id = factory.LazyFunction(lambda: os.urandom(32))
    private_key = factory.LazyFunction(lambda: ec.generate_private_key(ec.SECP256R1()))
    public_key = factory.LazyAttribute(lambda passkey: cose_public_key(passkey.private_key))
    transports = factory.LazyFunction(lambda: ["internal", "hybrid"])
    aaguid = "00000000-0000-0000-0000-000000000000"
    authenticator = factory.LazyFunction(SoftAuthenticator)
    rp_id = "localhost"

    @classmethod
    def _created(cls, passkey):
        handle = UserHandleFactory(user=passkey.user)
        passkey.authenticator.credentials.append(
            StoredCredential(
                credential_id=bytes(passkey.credential_id),
                private_key=passkey.private_key,
                rp_id=passkey.rp_id,
                user_handle=bytes(handle.handle),
                sign_count=passkey.sign_count,
            )
        )


# mfa


class AuthenticatorDeviceFactory(factory.django.DjangoModelFactory):
    """A confirmed authenticator app of ``user`` with its key encrypted, as mfa.services.totp_confirm leaves it.

    ``key`` (20 random bytes unless given) is known: ``device.totp`` is the pyotp TOTP that computes its codes.
    No recovery codes come with it (RecoveryCodeDeviceFactory makes them).
    """

    class Meta:
        model = AuthenticatorDevice
        skip_postgeneration_save = True

    class Params:
        key = factory.LazyFunction(lambda: secrets.token_bytes(20))

    user = factory.SubFactory(UserFactory)
    name = "Authenticator app"
    confirmed = True
    encrypted_key = factory.LazyAttribute(lambda device: crypto.encrypt(device.key.hex()))

    @factory.post_generation
    def totp(device, create, extracted, **kwargs):
        device.totp = pyotp.TOTP(base64.b32encode(device.key).decode())


class RecoveryCodeDeviceFactory(factory.django.DjangoModelFactory):
    """``user``'s recovery codes, stored as mfa.services stores them; the plain ones are in ``device.plain_codes``.

    ``plain_codes=[...]`` chooses them (well-formed, each with its own first character); by default there are ten
    fresh ones.
    """

    class Meta:
        model = RecoveryCodeDevice
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    name = "Recovery codes"
    confirmed = True

    @factory.post_generation
    def plain_codes(device, create, extracted, **kwargs):
        device.plain_codes = list(extracted) if extracted is not None else mfa_services.new_recovery_codes()
        if create:
            RecoveryCode.objects.bulk_create(RecoveryCode.hashed(code, device=device) for code in device.plain_codes)


class EmailCodeDeviceFactory(factory.django.DjangoModelFactory):
    """Email codes turned on (confirmed) for ``user``, sent to the user's address."""

    class Meta:
        model = EmailCodeDevice

    user = factory.SubFactory(UserFactory)
    name = "Email"
    confirmed = True


# usersessions


def logged_in_session_key(user):
    """A stored Django session logged in as ``user``, its policy's clocks started now; returns its key."""
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    policy.start(store, user)
    store.create()
    return store.session_key


class UserSessionFactory(factory.django.DjangoModelFactory):
    """A logged-in session of ``user``: a stored Django session and its UserSession row, as a login makes them.

    usersessions.selectors.active_sessions lists it, and a browser sending ``session_key`` as its session
    cookie is logged in. Give ``session_key`` to record a session that is already stored.
    """

    class Meta:
        model = UserSession

    user = factory.SubFactory(UserFactory)
    session_key = None
    ip = "192.0.2.1"
    user_agent = _DESKTOP_BROWSER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        if kwargs["session_key"] is None:
            kwargs["session_key"] = logged_in_session_key(kwargs["user"])
        return super()._create(model_class, *args, **kwargs)
