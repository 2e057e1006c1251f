"""SAM Hub settings. Every value can come from the environment; see README's configuration table."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_seconds_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("SAMHUB_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
# The fallback only suits the embedded single-machine defaults; production sets its own key.
# `manage.py check --deploy` flags it (security.W009) and `manage.py portal` warns when it is in
# use outside the demo.
EMBEDDED_SECRET_KEY = "samhub-embedded-default-key-not-for-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", EMBEDDED_SECRET_KEY)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "config.apps.SamHubAdminConfig",  # django.contrib.admin with SAM Hub's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "core",
    "registry",
    "sharing",
    "training",
    "monitoring",
]

MIDDLEWARE = [
    # First: refuses an over-limit body before anything reads it (registry.middleware).
    "registry.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    # Last, so that it turns a login refused for a lockout into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "core.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'samhub.sqlite3'}"),
        # Keep connections between requests: opening one per call would dominate inference.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, converting each statement's placeholders once (config/backends/sqlite3).
    DATABASES["default"]["ENGINE"] = "config.backends.sqlite3"
    # Web processes and the worker share the file: wait for a lock instead of failing at once,
    # take the write lock at the start of a transaction, and let readers go on beside a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20,
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
    # Tests' database in a file (not in memory) so that a real Celery worker in a test can see
    # it; one per test run, so that runs side by side do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test_samhub_{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = Path(env_str("SAMHUB_WAREHOUSE_DIR", str(DATA_DIR / "warehouse")))

# Model warehouse: local files by default, S3 (or any S3-compatible endpoint) when a bucket is set.
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") or None
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID") or None
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY") or None
# Spool downloads to disk beyond 8 MiB so a large artifact never sits in memory.
AWS_S3_MAX_MEMORY_SIZE = 8 * 1024 * 1024
AWS_S3_FILE_OVERWRITE = False
AWS_DEFAULT_ACL = None

if AWS_STORAGE_BUCKET_NAME:
    _warehouse = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    _warehouse = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    }
STORAGES = {
    "default": _warehouse,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Uploads: everything above 2.5 MiB goes to a temporary file, never to memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_TEMP_DIR = env_str("SAMHUB_UPLOAD_TEMP_DIR") or None
SAMHUB_ARTIFACT_MAX_BYTES = env_int("SAMHUB_ARTIFACT_MAX_BYTES", 2 * 1024**3)
# The largest body taken from someone not signed in, and at sign-in pages (registry.middleware);
# other routes take DATA_UPLOAD_MAX_MEMORY_SIZE, model file uploads SAMHUB_ARTIFACT_MAX_BYTES.
SAMHUB_ANONYMOUS_MAX_BODY_BYTES = env_int("SAMHUB_ANONYMOUS_MAX_BODY_BYTES", 64 * 1024)
if SAMHUB_ANONYMOUS_MAX_BODY_BYTES < 1024:
    raise ImproperlyConfigured(
        "SAMHUB_ANONYMOUS_MAX_BODY_BYTES must be at least 1024 (a sign-in form)."
    )
# Untrusted model files are inspected in a child process with this much address space.
SAMHUB_ARTIFACT_CHECK_MEMORY_BYTES = env_int("SAMHUB_ARTIFACT_CHECK_MEMORY_BYTES", 8 * 1024**3)
SAMHUB_ARTIFACT_CHECK_TIMEOUT_SECONDS = env_int("SAMHUB_ARTIFACT_CHECK_TIMEOUT_SECONDS", 300)
# The most memory that loading one model may add to a process: the checker measures it at
# upload and refuses more; the web process loads only models measured within it.
SAMHUB_MODEL_MAX_LOADED_BYTES = env_int("SAMHUB_MODEL_MAX_LOADED_BYTES", 512 * 1024**2)

# Training datasets (training.datasets): the largest upload, and the caps of the child process
# that parses it (rows, columns, the header line, memory, time).
SAMHUB_DATASET_MAX_BYTES = env_int("SAMHUB_DATASET_MAX_BYTES", 200 * 1024**2)
SAMHUB_DATASET_MAX_ROWS = env_int("SAMHUB_DATASET_MAX_ROWS", 5_000_000)
SAMHUB_DATASET_MAX_COLUMNS = env_int("SAMHUB_DATASET_MAX_COLUMNS", 1000)
SAMHUB_DATASET_MAX_LINE_BYTES = env_int("SAMHUB_DATASET_MAX_LINE_BYTES", 1024**2)
SAMHUB_DATASET_MAX_LOADED_BYTES = env_int("SAMHUB_DATASET_MAX_LOADED_BYTES", 2 * 1024**3)
SAMHUB_DATASET_CHECK_MEMORY_BYTES = env_int("SAMHUB_DATASET_CHECK_MEMORY_BYTES", 6 * 1024**3)
SAMHUB_DATASET_CHECK_TIMEOUT_SECONDS = env_int("SAMHUB_DATASET_CHECK_TIMEOUT_SECONDS", 300)

# Reasoning calls (sharing.inference, sharing.broker): run in the web process, each worker
# process keeping its own cache of loaded models.
SAMHUB_INFERENCE_MAX_BATCH = env_int("SAMHUB_INFERENCE_MAX_BATCH", 1000)
SAMHUB_INFERENCE_CACHE_SIZE = env_int("SAMHUB_INFERENCE_CACHE_SIZE", 32)
SAMHUB_INFERENCE_THREADS = env_int("SAMHUB_INFERENCE_THREADS", 1)
SAMHUB_BROKER_TIMEOUT_SECONDS = env_int("SAMHUB_BROKER_TIMEOUT_SECONDS", 10)
SAMHUB_BROKER_MAX_RESPONSE_BYTES = env_int("SAMHUB_BROKER_MAX_RESPONSE_BYTES", 16 * 1024**2)
# SDK wheels and mirror bundles (sharing.extraction): the process building one refreshes its
# heartbeat this often; a build that misses three beats lost its process and is started again.
SAMHUB_PACKAGE_HEARTBEAT_SECONDS = env_int("SAMHUB_PACKAGE_HEARTBEAT_SECONDS", 5)
# Training processes (training.execution): the worker running one refreshes its heartbeat this
# often; a process that misses three beats lost its worker and is taken up again from the last
# step it finished; the SAMHUB_TRAINING_MAX_LOST_RUNS-th time its worker is lost, it FAILS.
SAMHUB_TRAINING_HEARTBEAT_SECONDS = env_int("SAMHUB_TRAINING_HEARTBEAT_SECONDS", 5)
SAMHUB_TRAINING_MAX_LOST_RUNS = env_int("SAMHUB_TRAINING_MAX_LOST_RUNS", 3)
# AIMLE model selection (training/aimle/, docs/model_selection.md): the most candidates one
# selection trains (those named and those picked from the catalog by mlMdlReq), the most
# training rounds (trainCount) per candidate, and the longest one candidate may train before
# it FAILS (a soft time limit of its Celery task).
SAMHUB_MODEL_SELECTION_MAX_CANDIDATES = env_int("SAMHUB_MODEL_SELECTION_MAX_CANDIDATES", 10)
SAMHUB_MODEL_SELECTION_MAX_ROUNDS = env_int("SAMHUB_MODEL_SELECTION_MAX_ROUNDS", 20)
SAMHUB_MODEL_SELECTION_CANDIDATE_SECONDS = env_int("SAMHUB_MODEL_SELECTION_CANDIDATE_SECONDS", 3600)
# The ProvMnS facade of training (training/provmns/, docs/training.md): the MnSRoot its
# notifications' `href` starts with (where consumers reach this SAM Hub).
SAMHUB_PROVMNS_ROOT = env_str("SAMHUB_PROVMNS_ROOT", "http://localhost:8000")
# Redis hands a message that was taken but not acknowledged to another worker after this long
# (the worker that took it is presumed dead). It must exceed the longest task, or a build still
# running would be delivered twice; a second delivery is harmless (the build's heartbeat shows
# it is alive) but holds a worker for a few beats.
SAMHUB_CELERY_VISIBILITY_TIMEOUT_SECONDS = env_int("SAMHUB_CELERY_VISIBILITY_TIMEOUT_SECONDS", 7200)
# NWDAF ML model monitoring (monitoring/, docs/monitoring.md). Celery beat runs the reporting
# cycle every tick: periodic reports that are due, threshold crossings over the window.
SAMHUB_MONITOR_TICK_SECONDS = env_int("SAMHUB_MONITOR_TICK_SECONDS", 10)
SAMHUB_MONITOR_WINDOW_SECONDS = env_int("SAMHUB_MONITOR_WINDOW_SECONDS", 3600)
# A regressor's prediction is wrong (its named input data set goes in the notification's
# dataSetTag) when it is off by more than this percentage of the truth's magnitude.
SAMHUB_MONITOR_REGRESSION_TOLERANCE_PERCENT = env_int(
    "SAMHUB_MONITOR_REGRESSION_TOLERANCE_PERCENT", 10
)
if SAMHUB_MONITOR_REGRESSION_TOLERANCE_PERCENT < 0:
    raise ImproperlyConfigured(
        "SAMHUB_MONITOR_REGRESSION_TOLERANCE_PERCENT must be at least 0, got "
        f"{SAMHUB_MONITOR_REGRESSION_TOLERANCE_PERCENT}"
    )
# Operator policy: a subscription expires this long after it is made (0: only when the
# consumer's own monDur or maxReportNbr ends it).
SAMHUB_MONITOR_SUBSCRIPTION_MAX_SECONDS = env_int("SAMHUB_MONITOR_SUBSCRIPTION_MAX_SECONDS", 0)
# How often Celery beat recounts each released version's subscribers and calls, which the
# catalog shows on its cards and sorts by (sharing.services.version_popularity_count).
SAMHUB_POPULARITY_SECONDS = env_int("SAMHUB_POPULARITY_SECONDS", 300)
# Callbacks (notifications POSTed to addresses given from outside: NWDAF subscribers'
# notificationUri, ProvMnS recipients; core/callbacks.py):
# per-request timeout, attempts in all (the first and its retries), the first retry's delay
# (doubled for each next one: core.callbacks.callback_retry_delay), concurrent requests per
# monitoring delivery task, and the networks a callback may reach although they are loopback
# or private (CIDRs, e.g. "10.0.0.0/8"; tests allow "127.0.0.0/8"; core/outbound.py).
SAMHUB_CALLBACK_TIMEOUT_SECONDS = env_int("SAMHUB_CALLBACK_TIMEOUT_SECONDS", 5)
SAMHUB_CALLBACK_ATTEMPTS = env_int("SAMHUB_CALLBACK_ATTEMPTS", 5)
SAMHUB_CALLBACK_BACKOFF_SECONDS = env_int("SAMHUB_CALLBACK_BACKOFF_SECONDS", 5)
SAMHUB_CALLBACK_THREADS = env_int("SAMHUB_CALLBACK_THREADS", 8)
SAMHUB_CALLBACK_ALLOWED_NETWORKS = env_list("SAMHUB_CALLBACK_ALLOWED_NETWORKS", [])
for _name in (
    "SAMHUB_MONITOR_TICK_SECONDS",
    "SAMHUB_POPULARITY_SECONDS",
    "SAMHUB_MONITOR_WINDOW_SECONDS",
    "SAMHUB_CALLBACK_TIMEOUT_SECONDS",
    "SAMHUB_CALLBACK_ATTEMPTS",
    "SAMHUB_CALLBACK_BACKOFF_SECONDS",
    "SAMHUB_CALLBACK_THREADS",
    "SAMHUB_DATASET_MAX_BYTES",
    "SAMHUB_DATASET_MAX_ROWS",
    "SAMHUB_DATASET_MAX_COLUMNS",
    "SAMHUB_DATASET_MAX_LINE_BYTES",
    "SAMHUB_DATASET_MAX_LOADED_BYTES",
    "SAMHUB_DATASET_CHECK_MEMORY_BYTES",
    "SAMHUB_DATASET_CHECK_TIMEOUT_SECONDS",
    "SAMHUB_MODEL_MAX_LOADED_BYTES",
    "SAMHUB_INFERENCE_MAX_BATCH",
    "SAMHUB_INFERENCE_CACHE_SIZE",
    "SAMHUB_INFERENCE_THREADS",
    "SAMHUB_BROKER_TIMEOUT_SECONDS",
    "SAMHUB_BROKER_MAX_RESPONSE_BYTES",
    "SAMHUB_PACKAGE_HEARTBEAT_SECONDS",
    "SAMHUB_TRAINING_HEARTBEAT_SECONDS",
    "SAMHUB_TRAINING_MAX_LOST_RUNS",
    "SAMHUB_MODEL_SELECTION_MAX_CANDIDATES",
    "SAMHUB_MODEL_SELECTION_MAX_ROUNDS",
    "SAMHUB_MODEL_SELECTION_CANDIDATE_SECONDS",
    "SAMHUB_CELERY_VISIBILITY_TIMEOUT_SECONDS",
):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1, got {globals()[_name]}")

# `manage.py portal`: a child (worker, beat, gunicorn) that keeps dying soon after it starts is
# started again after these pauses in turn, one per death in a row; after the last the portal
# stops with a message naming it (a port in use, a broker that cannot be reached).
SAMHUB_PORTAL_RESTART_DELAYS = env_seconds_list("SAMHUB_PORTAL_RESTART_DELAYS", (0, 1, 2, 5, 10))

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": SAMHUB_CELERY_VISIBILITY_TIMEOUT_SECONDS}


def folder_broker_options(data_dir: Path) -> dict:
    """A broker in a local folder under data_dir: a real Celery worker with no server to
    install. The folders are made here."""
    broker_dir = data_dir / "broker"
    for folder in ("queue", "processed", "control"):
        (broker_dir / folder).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "processed_folder": str(broker_dir / "processed"),
        "control_folder": str(broker_dir / "control"),
        "store_processed": False,
        # How long an idle worker waits before looking at the folder again: a worker whose
        # pool is busy looks only then, so this bounds the gap between two tasks.
        "polling_interval": 0.1,
    }


if CELERY_BROKER_URL == "filesystem://":
    CELERY_BROKER_TRANSPORT_OPTIONS = folder_broker_options(DATA_DIR)
# A task's message is acknowledged when the task ends, and handed back to the queue when the
# process running it dies (kill -9, out of memory): tasks are idempotent, so running one again
# is always safe, and losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Celery beat (started by `manage.py portal`, or `celery -A config beat` in production): the
# monitoring's reporting cycle and the catalog's popularity counts. Its schedule state lives
# in the data folder.
CELERY_BEAT_SCHEDULE = {
    "monitor-cycle": {
        "task": "monitoring.tasks.monitor_cycle_task",
        "schedule": float(SAMHUB_MONITOR_TICK_SECONDS),
    },
    "popularity-count": {
        "task": "sharing.tasks.version_popularity_count_task",
        "schedule": float(SAMHUB_POPULARITY_SECONDS),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous request gets 401 with WWW-Authenticate: Token.
        "core.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON with its nesting bounded before parsing, and no NaN (core.json_input).
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_FILTER_BACKENDS": [],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SAM Hub API",
    "DESCRIPTION": "Register, audit, release and share small AI models (ETSI ENI SAM).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "VersionStatusEnum": "registry.models.VersionStatus",
        "SharingMethodEnum": "sharing.models.SharingMethod",
        "SubscriptionStatusEnum": "sharing.models.SubscriptionStatus",
        "DatasetFormatEnum": "training.models.DatasetFormat",
        "ComputingTaskTypeEnum": "training.models.ComputingTaskType",
    },
}

# --- Deployment: HTTPS, cookies, Content-Security-Policy (README "Production") --------------
# The defaults keep the embedded demo working on http://127.0.0.1; production behind TLS sets
# these, and `manage.py check --deploy --fail-level WARNING` is then clean.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
# HSTS covers this host's own subdomains only (not its siblings), so on by default once on.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", SECURE_SSL_REDIRECT)
# Behind a TLS-terminating proxy: the header it sets on HTTPS requests, e.g. X-Forwarded-Proto.
# Only set it when the proxy always overwrites that header, or clients could claim HTTPS.
_proxy_ssl_header = env_str("DJANGO_SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _proxy_ssl_header.upper().replace("-", "_"),
        "https",
    )
# No inline script or style anywhere, everything from this origin (static files included);
# config.csp sends it. The API docs page adds data: images for Swagger UI's icons.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "object-src": ["'none'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
}

# --- Brute force: lockout of password sign-in (django-axes; README "Sign-in lockout") --------
# Counted per account and per client address, on the login page, the admin's login and
# /api/v1/auth/token/; a locked request is answered 429 until the cool-off passes or an
# operator deletes the access attempt in the admin (Axes > Access attempts).
AUTHENTICATION_BACKENDS = [
    "core.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("SAMHUB_LOGIN_FAILURE_LIMIT", 10)
# Minutes after the last failure; 0 keeps the lockout until an operator lifts it.
SAMHUB_LOGIN_LOCKOUT_MINUTES = env_int("SAMHUB_LOGIN_LOCKOUT_MINUTES", 15)
AXES_COOLOFF_TIME = (
    timedelta(minutes=SAMHUB_LOGIN_LOCKOUT_MINUTES) if SAMHUB_LOGIN_LOCKOUT_MINUTES else None
)
# Either parameter alone locks: many passwords tried on one account from many addresses, or
# many accounts tried from one address.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"
AXES_VERBOSE = False  # no banner in every manage.py command's output; lockouts are still logged
AXES_CLIENT_IP_CALLABLE = "core.lockout.client_address"
# Behind proxies, the number of them that append to X-Forwarded-For; 0 uses REMOTE_ADDR.
SAMHUB_TRUSTED_PROXY_COUNT = env_int("SAMHUB_TRUSTED_PROXY_COUNT", 0)
for _name, _value, _least in (
    ("SAMHUB_LOGIN_FAILURE_LIMIT", AXES_FAILURE_LIMIT, 1),
    ("SAMHUB_LOGIN_LOCKOUT_MINUTES", SAMHUB_LOGIN_LOCKOUT_MINUTES, 0),
    ("SAMHUB_TRUSTED_PROXY_COUNT", SAMHUB_TRUSTED_PROXY_COUNT, 0),
    ("DJANGO_SECURE_HSTS_SECONDS", SECURE_HSTS_SECONDS, 0),
):
    if _value < _least:
        raise ImproperlyConfigured(f"{_name} must be at least {_least}, got {_value}")

# --- E-mail: what SAM Hub tells people (a consumer whose retrained version is released) ------
# The console backend by default (the mail is written to the log of the process that sends it,
# the Celery worker); production sets an SMTP server.
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("DJANGO_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "SAM Hub <samhub@localhost>")
# Where people reach the portal, for links in e-mails.
SAMHUB_PORTAL_URL = env_str("SAMHUB_PORTAL_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("SAMHUB_LOG_LEVEL", "INFO")},
}
