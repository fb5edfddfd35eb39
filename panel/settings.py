"""Panel settings, read from the environment.

With nothing set, the embedded default runs: SQLite in ``var/``, a local-memory
cache, console email and a secret key generated once and kept in ``var/``.
Every variable, its default and its rules are in ``core.conf.CATALOGUE`` (README.md's
Configuration table shows it); ``conf.value()`` reads and checks them.
"""

from pathlib import Path

from core import conf
from passkeys import relying_party

BASE_DIR = Path(__file__).resolve().parent.parent
# In a checkout, var/ beside manage.py; an installed package's folder is no place for data (and
# often not writable), so there it is var/ in the working directory.
DEFAULT_VAR_DIR = BASE_DIR / "var" if (BASE_DIR / "manage.py").is_file() else Path.cwd() / "var"
VAR_DIR = Path(conf.value("PANEL_VAR_DIR", str(DEFAULT_VAR_DIR)))

DEBUG = conf.value("PANEL_DEBUG")
ALLOWED_HOSTS = conf.value("ALLOWED_HOSTS")
# Production: HTTPS only. Turned on by PANEL_HTTPS=true (see README); core.checks reads it too.
PANEL_HTTPS = conf.value("PANEL_HTTPS")
# Production (PANEL_HTTPS, or debug off answering to a public name) refuses to start without its keys,
# before a key is generated into var/ that no other host shares.
if conf.is_production(https=PANEL_HTTPS, debug=DEBUG, allowed_hosts=ALLOWED_HOSTS):
    conf.require_production_keys()
SECRET_KEY = conf.secret_key(VAR_DIR)
# Former keys: what they signed (sessions, reset links, device cookies) still verifies, and secrets encrypted
# under a key derived from one still open (core.crypto). See README's "Rotating SECRET_KEY".
SECRET_KEY_FALLBACKS = conf.value("PANEL_SECRET_KEY_FALLBACKS")
CSRF_TRUSTED_ORIGINS = conf.value("CSRF_TRUSTED_ORIGINS")

PANEL_NAME = conf.value("PANEL_NAME")
# Peers allowed to tell us the client address in X-Forwarded-For (IPs or CIDRs).
PANEL_TRUSTED_PROXIES = conf.value("PANEL_TRUSTED_PROXIES")
PANEL_USERS_PER_PAGE = 20
# Fernet keys for secrets at rest, newest first; empty derives one from SECRET_KEY (core.crypto).
PANEL_ENCRYPTION_KEYS = conf.value("PANEL_ENCRYPTION_KEYS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "core",
    "usersessions",
    "organisation",
    "accounts",
    "tokens",
    "django_otp",
    "django_otp.plugins.otp_email",
    "mfa",
    "passkeys",
    "panel",
    "ninja",
]

MIDDLEWARE = [
    # Outermost: every answer, probes and fault pages included, carries its X-Request-ID and is logged (core.logs).
    "core.logs.RequestLogMiddleware",
    # Probes (/livez, /readyz) first: no Host check, no HTTPS redirect, no session (core.middleware).
    "core.middleware.HealthProbeMiddleware",
    # First: under /api/ every error, whichever layer made it, answers the one JSON shape (core.errors).
    "core.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before anything reads the input: NUL bytes and lone surrogates are refused at the door (400).
    "core.middleware.UnstorableInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (the switcher's cookie, else Accept-Language), else PANEL_LANGUAGE.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "usersessions.middleware.FallbackKeyMiddleware",  # a session moved off a former SECRET_KEY keeps its record
    "core.device_cookies.DeviceCookieMiddleware",  # a browser that logs in gets a device cookie (brute force)
    # The logged-in user's own language (over the browser's) and time zone (else PANEL_TIME_ZONE).
    "core.localisation.UserLocaleMiddleware",
    # Django's, sending htmx requests of an ended session to the login page as a whole page (core.middleware).
    "core.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: a timed-out session is told why on the login page.
    "accounts.middleware.AccountValidityMiddleware",
    "usersessions.middleware.SessionPolicyMiddleware",
    "panel.middleware.RequireTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, nearest the view: an object deleted by another request meanwhile is a 404, not a 500.
    "core.middleware.DeletedMeanwhileMiddleware",
]
# A CSRF failure under /api/ answers the JSON shape (pages keep Django's).
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"

ROOT_URLCONF = "panel.urls"
WSGI_APPLICATION = "panel.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],  # each app holds its own (APP_DIRS); the shared ones are panel's
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "panel.context_processors.panel",
            ],
        },
    },
]

DATABASES = {"default": conf.database(VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = {"default": conf.cache()}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"  # the first module the user may open
LOGOUT_REDIRECT_URL = "login"

# Argon2id first, with the cost the environment sets, never below OWASP's m=19 MiB, t=2, p=1 (core.conf
# refuses less; tests/integration/test_password_hashing.py checks). Each login under way holds m of memory.
PANEL_ARGON2_MEMORY_KIB = conf.value("PANEL_ARGON2_MEMORY_KIB")
PANEL_ARGON2_TIME_COST = conf.value("PANEL_ARGON2_TIME_COST")
PANEL_ARGON2_PARALLELISM = conf.value("PANEL_ARGON2_PARALLELISM")
PASSWORD_HASHERS = [
    "core.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "accounts.validators.PasswordLengthValidator"},
    {"NAME": "accounts.validators.PasswordCharacterKindsValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]

# Sessions live in the shared database so every process sees a logout at once.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = conf.value("PANEL_SESSION_AGE")
PANEL_SESSION_IDLE_TIMEOUT = conf.value("PANEL_SESSION_IDLE_TIMEOUT")
PANEL_REAUTH_SECONDS = conf.value("PANEL_REAUTH_SECONDS")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Languages and time zones (README's "Languages and time zones"): a user's own choice, else the browser's
# language (the switcher's cookie, then Accept-Language), else these; core.localisation applies them.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文"), ("zh-hant", "繁體中文")]  # each named in its own language
LANGUAGE_CODE = conf.value("PANEL_LANGUAGE")
TIME_ZONE = conf.value("PANEL_TIME_ZONE")
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # the switcher's choice, kept a year
LANGUAGE_COOKIE_HTTPONLY = True  # no script reads it
LANGUAGE_COOKIE_SAMESITE = "Lax"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or not conf.value("PANEL_MANIFEST_STATIC")
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve static files straight from the source folders when no collectstatic ran.
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND, EMAIL_SETTINGS = conf.email()
EMAIL_TIMEOUT = conf.value("PANEL_EMAIL_TIMEOUT")
globals().update(EMAIL_SETTINGS)
DEFAULT_FROM_EMAIL = conf.value("DEFAULT_FROM_EMAIL")
MAIL_IN_BACKGROUND = True  # core.mail: sent after the answer (the tests turn it off to read the outbox at once)
PANEL_NOTIFY_NEW_LOGIN = conf.value("PANEL_NOTIFY_NEW_LOGIN")  # core.notify: new-browser login emails
# The periodic job (`manage.py housekeeping`) deletes audit events older than this many days; 0 keeps them all.
PANEL_AUDIT_RETENTION_DAYS = conf.value("PANEL_AUDIT_RETENTION_DAYS")

# Two-factor authentication (mfa/).
PANEL_REQUIRE_TWO_FACTOR = conf.value("PANEL_REQUIRE_TWO_FACTOR")
PANEL_TOTP_ISSUER = conf.value("PANEL_TOTP_ISSUER", PANEL_NAME)
PANEL_MFA_PENDING_SECONDS = 300  # between the right password and the second factor

# Passkeys (WebAuthn): the relying party ID and the origins allowed to use it. Unset, each request's own
# host is used when ALLOWED_HOSTS names it exactly (passkeys.relying_party).
PANEL_PASSKEY_RP_ID, PANEL_PASSKEY_ORIGINS = relying_party.configured()
PANEL_PASSKEY_CEREMONY_SECONDS = 300  # how long a registration or login challenge stays usable
PASSWORD_RESET_TIMEOUT = 3600  # a reset link works for an hour (Django's default is 3 days)
OTP_EMAIL_SENDER = DEFAULT_FROM_EMAIL
# OTP_EMAIL_SUBJECT is not used: mfa.models.EmailCodeDevice.get_subject makes it in the recipient's language.
OTP_EMAIL_BODY_TEMPLATE_PATH = "mfa/email_code.txt"
OTP_EMAIL_TOKEN_VALIDITY = 300
OTP_EMAIL_COOLDOWN_DURATION = 60

# Strict CSP: every script and style is a file the panel serves itself.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
if conf.value("PANEL_BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if PANEL_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = conf.value("PANEL_SSL_REDIRECT")
    SECURE_HSTS_SECONDS = conf.value("PANEL_HSTS_SECONDS")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = conf.value("PANEL_HSTS_PRELOAD")
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# One line a record, with time, level, logger, request ID, user and client IP (core.logs); PANEL_LOG_FORMAT=json
# writes each as a JSON object. Django's own loggers propagate here instead of to their console handler.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "core.logs.ContextFilter"}},
    "formatters": {
        "text": {"()": "core.logs.TextFormatter"},
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": conf.value("PANEL_LOG_FORMAT"),
            "filters": ["request_context"],
        }
    },
    "loggers": {"django": {"handlers": [], "propagate": True}},
    "root": {"handlers": ["console"], "level": conf.value("PANEL_LOG_LEVEL")},
}
