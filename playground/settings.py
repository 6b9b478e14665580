"""Settings for Prefix Playground: every value comes from the environment.

With nothing set, the site runs for development (DEBUG on, SQLite, fixed development keys).
With DEBUG off, the secrets must be given and the security settings are switched on, so that
`manage.py check --deploy` is clean. Every environment variable is described in app.json and
in the README's "Configuration" table.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from cryptography.fernet import Fernet
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

# Lets the site subclass Django's generic classes with their type arguments, as mypy --strict
# needs (`admin.ModelAdmin[Team]`, `forms.ModelForm[Credential]`): Django's own classes
# cannot be subscripted at run time. It adds only `__class_getitem__` to them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """Return the boolean environment variable `name`; raise on anything but yes/no words."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_int(name: str, default: int, minimum: int = 0) -> int:
    """Return the integer environment variable `name`; raise when it is not a whole number."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Return the comma-separated environment variable `name` as a list of trimmed items."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE = re.compile(r"^\d+/\d*[smhd]$")


def env_rate(name: str, default: str) -> str:
    """Return the rate-limit environment variable `name`, e.g. "10/m" (N per s, m, h or d)."""
    value = os.environ.get(name, "").strip() or default
    if not _RATE.match(value):
        raise ImproperlyConfigured(
            f"{name} must look like 10/m (N per s, m, h or d); got {value!r}"
        )
    return value


def env_secret(name: str, dev_default: str) -> str:
    """Return a secret: required when DEBUG is off, a fixed development value otherwise."""
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off (see README, Deploy).")


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_secret(
    "SECRET_KEY", "django-insecure-dev-only-4c1f0e8a9b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c"
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must be set when DEBUG is off, e.g. myapp.example.com"
    )

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("https://", "http://")):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries need a scheme, e.g. https://{_origin}; got {_origin!r}"
        )

# Encryption of stored API keys: a comma list for MultiFernet. The first key encrypts, every key
# decrypts, so a new key is put first and `manage.py rotate_keys` re-encrypts under it.
_DEV_ENCRYPTION_KEY = "ZGV2LW9ubHktcHJlZml4LXBsYXlncm91bmQta2V5ISE="
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS", [])
if not ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS must be set when DEBUG is off. Make one with: python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        )
    ENCRYPTION_KEYS = [_DEV_ENCRYPTION_KEY]
for _index, _key in enumerate(ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key)
    except (ValueError, TypeError):
        # The key itself stays out of the message: it is a secret.
        raise ImproperlyConfigured(
            f"ENCRYPTION_KEYS entry {_index} is not a valid Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "playground.accounts",
    "playground.keys",
    "playground.prompts",
    "playground.runs",
    "playground.batches",
    # The batch worker's task queue (playground/batches/tasks.py says why this one).
    "django_q",
    # Login lockout (README, "Dependencies"); after the project's apps so its templates win.
    "axes",
]

# Axes first: it refuses a locked-out login before the password is even hashed.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Every middleware here is async-capable except whitenoise, which costs one thread hop per
# request (BENCHMARKS.md, "Per-run Django overhead"). No GZipMiddleware: it buffers or breaks
# event streams.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages for a signed-in user are never stored by browsers or shared caches.
    "playground.accounts.middleware.no_store_for_users",
    # Default-deny: every view needs a signed-in user unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "playground.content_security.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a refused (locked-out) login into the lockout page; last, as axes asks.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy on every response (django-csp 4 reads this dict). Scripts and styles
# come only from our own static files: no inline script, handler or style attribute anywhere,
# and htmx runs with eval off (templates/base.html). The one nonce is the stand-alone 500 page's
# <style> (playground/errors.py); `NONCE` adds it only to a response that asked for one.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF],
        "style-src": [csp_constants.SELF, csp_constants.NONCE],
        "img-src": [csp_constants.SELF, "data:"],
        "font-src": [csp_constants.SELF],
        "connect-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.NONE],
        "form-action": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
    }
}

ROOT_URLCONF = "playground.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # Partials everywhere without {% load partials %}; Django 6 has them built in.
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

ASGI_APPLICATION = "playground.asgi.application"

# SQLite by default, PostgreSQL (psycopg 3) through DATABASE_URL. No persistent connections:
# under ASGI each request runs its ORM work on its own thread, and a kept connection leaks.
try:
    DATABASES = {
        "default": dj_database_url.config(
            default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=0
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
# The batch worker (manage.py batch_worker) is a django-q2 cluster that forks processes after
# its parent has used the database; a connection pool inherited across a fork would share its
# sockets between processes. So the worker opens plain connections, closed after each use.
BATCH_WORKER = len(sys.argv) > 1 and sys.argv[1] in ("batch_worker", "qcluster")

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The browser tests serve the site from a second thread; a file lets both see one database.
    # One file per process, so two test runs on one machine do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")}
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not BATCH_WORKER:
    # A connection pool per process (psycopg_pool, through Django): a burst of run starts waits
    # for a free connection instead of each opening its own and the server refusing the rest
    # ("too many clients"). Closing a connection returns it to the pool.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DATABASE_POOL_SIZE", 8, minimum=1),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 30, minimum=1),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "landing"

REDIS_URL = os.environ.get("REDIS_URL", "").strip()
CACHES: dict[str, dict[str, object]]
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://")
    _REDIS: dict[str, object] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    }
    CACHES = {"default": _REDIS, "ratelimit": {**_REDIS, "KEY_PREFIX": "rl"}}
else:
    # Rate limits must hold across worker processes, so without Redis their counters live in
    # the database every process shares (the table is made by accounts migration 0003).
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "ratelimit": {
            "BACKEND": "playground.accounts.cache.AtomicDatabaseCache",
            "LOCATION": "playground_rate_limits",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        },
    }

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "media"

# Security. Behind a Heroku-style router TLS ends at the router, which sets X-Forwarded-Proto.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# A trial of the production configuration over plain HTTP on one's own machine (README, "Try the
# production configuration locally"): no HTTPS redirect, no Secure-only cookies, no HSTS, and
# exactly those deploy-check warnings silenced. The deploy check fails when ALLOWED_HOSTS names
# anything but this machine (playground/checks.py), so a real deploy cannot keep it on.
LOCAL_HTTP_TRIAL = env_bool("LOCAL_HTTP_TRIAL", False)
LOCAL_HTTP_TRIAL_CHECKS = ["security.W004", "security.W008", "security.W012", "security.W016"]
if not DEBUG:
    _https = not LOCAL_HTTP_TRIAL
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True) and _https
    SESSION_COOKIE_SECURE = _https
    CSRF_COOKIE_SECURE = _https
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000) if _https else 0
# HSTS for subdomains and preloading are hard to undo and are the operator's decision for their
# whole domain, so they stay off and their deploy-check warnings are silenced:
# W005 (SECURE_HSTS_INCLUDE_SUBDOMAINS) and W021 (SECURE_HSTS_PRELOAD).
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
if LOCAL_HTTP_TRIAL and not DEBUG:
    SILENCED_SYSTEM_CHECKS += LOCAL_HTTP_TRIAL_CHECKS

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Invite and share links carry their secret token in the path: access-log lines and
    # Django's "Not Found: <path>" warnings show it as "[token]".
    "filters": {"redact_tokens": {"()": "playground.accounts.logfilters.RedactTokens"}},
    # The process id tells the web workers' lines apart.
    "formatters": {"plain": {"format": "{levelname} [{process}] {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        # One line per upstream request is noise at INFO; failures reach the page and the run.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # axes notes every attempt at INFO; lockouts and failures come at WARNING.
        "axes": {"level": "WARNING"},
        # uvicorn's access log, one line per request, through this handler and the filter.
        "uvicorn.access": {
            "handlers": ["console"],
            "filters": ["redact_tokens"],
            "propagate": False,
        },
        "django.request": {"filters": ["redact_tokens"]},
    },
}

# Playground settings.
# Custom base URLs may point at loopback or private networks only when the operator allows it:
# on in development (the simulator and local vLLM/Ollama), off by default in production.
ALLOW_PRIVATE_BASE_URLS = env_bool("ALLOW_PRIVATE_BASE_URLS", DEBUG)
# The built-in provider simulator answers under /sim/ on this site (offline demo, tests).
SIMULATOR_ENABLED = env_bool("SIMULATOR_ENABLED", DEBUG)
# Demo mode: the Keys page offers "Try it offline" on a hosted instance. Its simulator keys are
# answered in-process (playground/providers/inprocess.py): no loopback HTTP, and no private base
# URL has to be allowed.
DEMO_MODE = env_bool("DEMO_MODE", False)

# Runs. Deadlines per column: until the first token, between tokens (keep-alive comments do not
# count), and in total; then how long text is coalesced before it is sent to the browser.
RUN_FIRST_TOKEN_TIMEOUT = env_int("RUN_FIRST_TOKEN_TIMEOUT", 60, minimum=1)
RUN_STALL_TIMEOUT = env_int("RUN_STALL_TIMEOUT", 60, minimum=1)
RUN_TOTAL_TIMEOUT = env_int("RUN_TOTAL_TIMEOUT", 600, minimum=1)
# 15 ms (was 40): a delta that arrives close behind the last one (a provider's or a network's
# jitter) waits up to the whole interval, and at a provider's pace the throttle joined next to
# nothing (1.20 frames per upstream chunk at 40 and at 15 ms, BENCHMARKS.md, "Relay at 100
# concurrent runs"); 15 ms bounds that wait and still joins a fast stream's deltas into at most
# ~66 updates a second per column.
RUN_COALESCE_SECONDS = env_int("RUN_COALESCE_MS", 15) / 1000
# Most text (continuation + reasoning) one column keeps; past it the column ends, its text kept
# and its upstream request closed, so no stream can fill the worker's memory or the database.
RUN_MAX_OUTPUT_CHARS = env_int("RUN_MAX_OUTPUT_CHARS", 500_000, minimum=1000)
# How many runs one user may have streaming at once (each run holds 1-6 upstream requests).
MAX_CONCURRENT_RUNS_PER_USER = env_int("MAX_CONCURRENT_RUNS_PER_USER", 3, minimum=1)
# Probes on the Keys page are capped on their own (each one is an upstream request).
MAX_CONCURRENT_PROBES_PER_USER = env_int("MAX_CONCURRENT_PROBES_PER_USER", 2, minimum=1)
# Each process holds a lease on the segments it streams, renewed every quarter of this; a
# segment whose lease is this old is marked interrupted (its process died). docs/streaming.md.
RUN_LEASE_SECONDS = env_int("RUN_LEASE_SECONDS", 8, minimum=2)
# A run whose stream is not opened within this many seconds is marked interrupted.
RUN_UNOPENED_GRACE_SECONDS = env_int("RUN_UNOPENED_GRACE_SECONDS", 30, minimum=1)
# Images uploaded for a turn are kept in the database and sent inline; this caps their size.
MAX_IMAGE_UPLOAD_BYTES = env_int("MAX_IMAGE_UPLOAD_MB", 5, minimum=1) * 1_048_576
# No request body larger than this is read at all (playground/bodylimit.py): 413 at once.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_MB", 12, minimum=1) * 1_048_576

# Input budgets (docs/limits.md): every request's work is bounded before it starts, and a refusal
# names the limit. A prompt after its variables are filled in (and a template with its defaults):
MAX_PROMPT_CHARS = env_int("MAX_PROMPT_CHARS", 200_000, minimum=1)
# One text of a prompt or template: the system prompt, a turn, the prefix, a variable's value.
MAX_TEXT_CHARS = env_int("MAX_TEXT_CHARS", 100_000, minimum=1)
MAX_TURNS = env_int("MAX_TURNS", 50, minimum=1)
# 16 is DeepSeek's limit; a provider's own lower limit (catalog.json) applies to its columns.
MAX_STOP_SEQUENCES = env_int("MAX_STOP_SEQUENCES", 16, minimum=1)
MAX_STOP_CHARS = env_int("MAX_STOP_CHARS", 200, minimum=1)
MAX_IMPORT_MB = env_int("MAX_IMPORT_MB", 5, minimum=1)
MAX_IMPORT_DEPTH = env_int("MAX_IMPORT_DEPTH", 20, minimum=6)
# Tools a prompt offers (128 is DeepSeek's and OpenAI's limit) and their definitions' JSON size.
MAX_TOOLS = env_int("MAX_TOOLS", 128, minimum=1)
MAX_TOOLS_CHARS = env_int("MAX_TOOLS_CHARS", 100_000, minimum=1000)
# Uploaded images are kept in the database: a per-user quota on their number and total size.
MAX_IMAGES_PER_USER = env_int("MAX_IMAGES_PER_USER", 50, minimum=1)
MAX_IMAGE_STORAGE_MB = env_int("MAX_IMAGE_STORAGE_MB", 50, minimum=1)

# Client address. Behind the platform's router (DEBUG off) the router is the direct peer and
# appends the address it saw to X-Forwarded-For; the client address is that right-most entry,
# never one the client wrote itself (playground/accounts/clientip.py). 0 = the direct peer.
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0 if DEBUG else 1)

# Rate limits ("N/s", "N/m", "N/h" or "N/d"), counted in the "ratelimit" cache, which every web
# process shares. Sign-ups are counted per client address, the others per user.
RATE_LIMITS = {
    "signup": env_rate("SIGNUP_RATE_LIMIT", "10/h"),
    "password_change": env_rate("PASSWORD_CHANGE_RATE_LIMIT", "10/h"),
    "runs": env_rate("RUN_RATE_LIMIT", "30/m"),
    "probe": env_rate("PROBE_RATE_LIMIT", "20/m"),
}
RATELIMIT_USE_CACHE = "ratelimit"
# A counter that cannot be read or written (a locked SQLite file under concurrent requests) lets
# the request through rather than refusing it as over the limit: the store failing is not the
# user going too fast. The login lockout keeps its own table (axes) and is not affected.
RATELIMIT_FAIL_OPEN = True

# Login lockout (django-axes, attempts kept in the database): after LOGIN_FAILURE_LIMIT failed
# logins for one username, or from one client address, logins for it are refused for
# LOGIN_LOCKOUT_MINUTES (each new failure meanwhile starts the wait again). Also /admin/.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "playground.accounts.ratelimits.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Successful logins are not logged (no table that grows with every login); failures are.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Batch runs (docs/batches.md; the limits are in docs/limits.md). Rows, columns and value sizes
# bound an input set; the concurrency caps count every running cell of a user, across batches
# and worker processes; a 429, 503 or 5xx before any text is retried with exponential backoff
# (at least the provider's Retry-After) up to BATCH_MAX_ATTEMPTS attempts.
BATCH_MAX_ROWS = env_int("BATCH_MAX_ROWS", 500, minimum=1)
BATCH_MAX_COLUMNS = env_int("BATCH_MAX_COLUMNS", 50, minimum=1)
BATCH_MAX_VALUE_CHARS = env_int("BATCH_MAX_VALUE_CHARS", 10_000, minimum=1)
BATCH_MAX_INPUT_SETS_PER_TEMPLATE = env_int("BATCH_MAX_INPUT_SETS_PER_TEMPLATE", 50, minimum=1)
BATCH_MAX_UNFINISHED_PER_USER = env_int("BATCH_MAX_UNFINISHED_PER_USER", 3, minimum=1)
BATCH_CONCURRENCY_PER_USER = env_int("BATCH_CONCURRENCY_PER_USER", 6, minimum=1)
BATCH_CONCURRENCY_PER_KEY = env_int("BATCH_CONCURRENCY_PER_KEY", 3, minimum=1)
BATCH_MAX_ATTEMPTS = env_int("BATCH_MAX_ATTEMPTS", 3, minimum=1)
BATCH_BACKOFF_BASE_MS = env_int("BATCH_BACKOFF_BASE_MS", 1000)
BATCH_BACKOFF_MAX_SECONDS = env_int("BATCH_BACKOFF_MAX_SECONDS", 60, minimum=1)
BATCH_RETRY_AFTER_MAX_SECONDS = env_int("BATCH_RETRY_AFTER_MAX_SECONDS", 300, minimum=1)
BATCH_LEASE_SECONDS = env_int("BATCH_LEASE_SECONDS", 8, minimum=2)
BATCH_SLICE_SECONDS = env_int("BATCH_SLICE_SECONDS", 30, minimum=1)

# django-q2 with its ORM broker: the queue lives in this database, so the worker needs nothing
# the web process does not (playground/batches/tasks.py). A task is one slice of one batch, so
# the timeout only has to outlast a slice plus the longest cell (RUN_TOTAL_TIMEOUT); `retry`
# (redelivery of an unacknowledged task) must exceed it. Redelivery is harmless: cells are
# claimed exactly once in our own tables.
_Q_TIMEOUT = BATCH_SLICE_SECONDS + RUN_TOTAL_TIMEOUT + 60
Q_CLUSTER = {
    "name": "playground",
    "orm": "default",
    "workers": env_int("BATCH_WORKERS", 2, minimum=1),
    "timeout": _Q_TIMEOUT,
    "retry": _Q_TIMEOUT + 60,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 200,
    "poll": 0.3,
    "catch_up": False,
    "recycle": 200,
    "label": "Task queue",
}
