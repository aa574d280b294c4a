"""Django settings: every deployment value comes from the environment (see .env.example)."""

from datetime import timedelta
from pathlib import Path

import environ

from integrations.scopes import SCOPES as API_SCOPES

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is read when present, so a developer can keep settings out of the shell.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-dev-key-change-me" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

# HTTPS: secure by default when DEBUG is off (the demo runs with DEBUG on, over plain HTTP).
# Behind a TLS proxy set BPM_PROXY_SSL_HEADER (the header it sets, e.g. X-Forwarded-Proto),
# or the redirect to HTTPS would never end.
_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("BPM_SSL_REDIRECT", default=_SECURE)
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/?$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_SECURE = env.bool("BPM_SECURE_COOKIES", default=_SECURE)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("BPM_HSTS_SECONDS", default=31_536_000 if _SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("BPM_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
_proxy_header = env.str("BPM_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https") if _proxy_header else None
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "guardian",
    "oauth2_provider",
    "axes",
    "bpm",
    "processes",
    "tasks",
    "approvals",
    "notifications",
    "integrations",
    "dashboards",
    "camunda_rest",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "bpm.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last: turns a lockout raised while authenticating (form or HTTP Basic) into a 429
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bpm.urls"
CSRF_FAILURE_VIEW = "bpm.errors.csrf_failure"
WSGI_APPLICATION = "bpm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # BPM_TEMPLATE_DIRS come first, so a project overrides any template (e.g. the emails
        # in notifications/email/) without touching ours.
        "DIRS": [*env.list("BPM_TEMPLATE_DIRS", default=[]), BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tasks.context_processors.inbox",
            ],
        },
    },
]

# The embedded default is SQLite so the demo needs nothing installed; production and tests use PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's server and its job runner write to one file: a write transaction takes the lock
    # when it begins (IMMEDIATE) and waits for it, instead of failing with "database is locked"
    # when a reader turns writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
# Keep connections between requests (seconds); 0 closes them after each request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# Behind pgbouncer in transaction mode, server-side cursors (QuerySet.iterator) must be off.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # bpm/prepared.py: the engine's hot statements are prepared after this many runs on a
    # connection (the ORM's own queries bind on the client and are never prepared). Empty
    # turns it off: pgbouncer in transaction mode before 1.21, or without max_prepared_statements.
    _prepare = env.str("DATABASE_PREPARE_THRESHOLD", default="2")
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", int(_prepare) if _prepare else None)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username/address pair
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Password guessing (django-axes): after BPM_LOGIN_FAILURE_LIMIT failures for one username
# from one address, the login form and HTTP Basic answer 429 for BPM_LOGIN_LOCKOUT_MINUTES.
AXES_ENABLED = env.bool("BPM_LOGIN_LOCKOUT", default=True)
AXES_FAILURE_LIMIT = env.int("BPM_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("BPM_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner in every command's output; lockouts are still logged
AXES_LOCKOUT_CALLABLE = "bpm.errors.locked_out"
AXES_IPWARE_PROXY_COUNT = env.int("BPM_PROXY_COUNT", default=0) or None
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "tasks:inbox"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# Task attachments (Django's default storage; set STORAGES for S3 and the like). Never served
# from MEDIA_URL: the task's page hands them out after checking who asks.
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / "media"))

# Mail: Django's backends; SMTP in production, console in development.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="bpm@localhost")

# Celery: Redis in production; the demo runs background work in-process (eager).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A separate queue name lets several deployments (or test runs) share one Redis.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless this is set;
# bpm.celery then keeps it as a web process does between requests (CONN_MAX_AGE, health).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BEAT_SCHEDULE = {
    "bpm-tick": {"task": "processes.tick", "schedule": env.float("BPM_TICK_SECONDS", default=1.0)},
    # re-sends anything still pending (a broker outage loses nothing)
    # alert rules of the SLA dashboards
    "bpm-alerts": {"task": "dashboards.evaluate_alerts", "schedule": env.float("BPM_ALERT_SECONDS", default=60.0)},
    # history retention: runs only inside BPM_HISTORY_CLEANUP_WINDOW
    "bpm-history-cleanup": {
        "task": "processes.history_cleanup",
        "schedule": env.float("BPM_HISTORY_CLEANUP_SECONDS", default=600.0),
    },
    # batches a worker stopped moving on (a restart, a lost message) are handed out again
    "bpm-batches": {
        "task": "processes.batches_resume",
        "schedule": env.float("BPM_BATCH_RESUME_SECONDS", default=60.0),
    },
    "bpm-deliveries": {
        "task": "notifications.deliver_pending",
        "schedule": env.float("BPM_SWEEP_SECONDS", default=5.0),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # systems: OAuth2 client credentials (docs/API.md); people: the session (with CSRF)
        "integrations.auth.ClientCredentialsAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "integrations.auth.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "integrations.auth.TokenHasActionScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["integrations.auth.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": env.str("BPM_API_RATE", default="1200/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "bpm.api.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "bpm.api.exception_handler.problem_exception_handler",
    "PAGE_SIZE": 50,
}
# OAuth2 (client credentials) for ERP/HR systems; clients are registered with
# `manage.py api_client create` or in the admin (integrations.ApiClient).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"  # named: integrations refers to it
OAUTH2_PROVIDER = {
    "SCOPES": API_SCOPES,
    "DEFAULT_SCOPES": ["read"],
    "SCOPES_BACKEND_CLASS": "integrations.auth.ClientScopes",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("BPM_API_TOKEN_SECONDS", default=3600),
}

# The throttle counts requests in the cache: set CACHE_URL (e.g. redis://...) when several
# web processes serve the API, so they share one count per client.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

SPECTACULAR_SETTINGS = {
    "TITLE": "BPM engine API",
    "DESCRIPTION": "Deploy BPMN 2.0 definitions, run instances, complete tasks, correlate messages.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from npm (swagger-ui-dist, copied by scripts/setup.sh): no CDN, works offline
    "SWAGGER_UI_DIST": f"/{STATIC_URL.strip('/')}/vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": f"/{STATIC_URL.strip('/')}/favicon.svg",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "bpm.api.schema.add_problem_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "InstanceStatusEnum": "processes.choices.InstanceStatus",
        "TaskStatusEnum": "tasks.choices.TaskStatus",
    },
}

# The engine.
BPM = {
    # Largest BPMN/DMN file accepted at upload, in bytes.
    "MAX_UPLOAD_BYTES": env.int("BPM_MAX_UPLOAD_BYTES", default=5 * 1024 * 1024),
    # Largest file attached to a task (tasks.attachments)
    "MAX_ATTACHMENT_BYTES": env.int("BPM_MAX_ATTACHMENT_BYTES", default=5 * 1024 * 1024),
    # Largest request body (413 above it; uploads are held to MAX_UPLOAD_BYTES per file as well)
    # and largest set of variables one command may give, as JSON (400 above it).
    "MAX_REQUEST_BYTES": env.int("BPM_MAX_REQUEST_BYTES", default=10 * 1024 * 1024),
    "MAX_VARIABLES_BYTES": env.int("BPM_MAX_VARIABLES_BYTES", default=256 * 1024),
    # Script tasks can be switched off entirely; conditions and expressions still run.
    "SCRIPT_TASKS_ENABLED": env.bool("BPM_SCRIPT_TASKS_ENABLED", default=True),
    # Wall-clock budget for one script or expression, in seconds.
    "SCRIPT_TIMEOUT_SECONDS": env.float("BPM_SCRIPT_TIMEOUT_SECONDS", default=2.0),
    # Largest string/list/number a script may build in one operation (memory bound).
    "SCRIPT_MAX_SIZE": env.int("BPM_SCRIPT_MAX_SIZE", default=1_000_000),
    # Memory a script may use beyond the helper process's own, in MiB (its address space is capped).
    "SCRIPT_MAX_MEMORY_MB": env.int("BPM_SCRIPT_MAX_MEMORY_MB", default=256),
    # How long a verified API token, its service user and role permissions stay cached
    # (0: verify every request); revocation drops them at once (integrations/auth.py).
    "API_AUTH_CACHE_SECONDS": env.int("BPM_API_AUTH_CACHE_SECONDS", default=10),
    # How many parsed specs each process keeps in memory.
    "SPEC_CACHE_SIZE": env.int("BPM_SPEC_CACHE_SIZE", default=256),
    # Jobs (timers): how often beat looks for due jobs, how many one tick takes, how long a
    # worker may hold one before another may take it, and the first retry delay.
    "TICK_SECONDS": env.float("BPM_TICK_SECONDS", default=1.0),
    "JOB_BATCH_SIZE": env.int("BPM_JOB_BATCH_SIZE", default=200),
    "JOB_LOCK_SECONDS": env.int("BPM_JOB_LOCK_SECONDS", default=5),
    "JOB_RETRY_BASE_SECONDS": env.float("BPM_JOB_RETRY_BASE_SECONDS", default=2.0),
    # Service tasks: retries when the diagram gives none, HTTP timeout, project connectors
    # ({"name": "dotted.path.to.callable"}: the callable takes the inputs dict, returns a dict).
    "SERVICE_RETRIES": env.int("BPM_SERVICE_RETRIES", default=3),
    "HTTP_TIMEOUT_SECONDS": env.float("BPM_HTTP_TIMEOUT_SECONDS", default=10.0),
    # Circuit breaker per target host: failures in a row before pausing, and for how long.
    "BREAKER_FAILURES": env.int("BPM_BREAKER_FAILURES", default=5),
    "BREAKER_SECONDS": env.float("BPM_BREAKER_SECONDS", default=30.0),
    "CONNECTORS": env.dict("BPM_CONNECTORS", default={}),
    # Java implementations of Camunda service tasks (camunda:class, delegateExpression,
    # expression) -> the connector that does their work here (docs/MODELING.md)
    "JAVA_CLASS_BINDINGS": env.dict("BPM_JAVA_CLASS_BINDINGS", default={}),
    # attempts of an asynchronous continuation's job before it becomes an incident (Camunda: 3)
    "ASYNC_RETRIES": env.int("BPM_ASYNC_RETRIES", default=3),
    # Internal networks service tasks may call despite the address guard (e.g. 10.20.0.0/16 for
    # an ERP on the private network); set by administrators only, empty by default.
    "SERVICE_ALLOWED_NETWORKS": env.list("BPM_SERVICE_ALLOWED_NETWORKS", default=[]),
    # Notifications: webhook timeout, retries, networks webhooks may reach despite being private
    # (e.g. 127.0.0.0/8 in tests), and the site's public URL for links in emails.
    "WEBHOOK_TIMEOUT_SECONDS": env.float("BPM_WEBHOOK_TIMEOUT_SECONDS", default=5.0),
    "DELIVERY_MAX_ATTEMPTS": env.int("BPM_DELIVERY_MAX_ATTEMPTS", default=6),
    # A sender's lease on a delivery, renewed while it sends: a sender that died lets it
    # lapse and the next sweep takes the delivery again (late, never lost).
    "DELIVERY_LEASE_SECONDS": env.int("BPM_DELIVERY_LEASE_SECONDS", default=10),
    "DELIVERY_RETRY_BASE_SECONDS": env.float("BPM_DELIVERY_RETRY_BASE_SECONDS", default=5.0),
    "WEBHOOK_ALLOWED_NETWORKS": env.list("BPM_WEBHOOK_ALLOWED_NETWORKS", default=[]),
    # A task's assignee hears it is due soon this long before its due date (ISO 8601 duration).
    "DUE_SOON_BEFORE": env.str("BPM_DUE_SOON_BEFORE", default="PT4H"),
    # After the broker refused a "deliver now" nudge, how long a process leaves it to the sweep.
    "NUDGE_PAUSE_SECONDS": env.float("BPM_NUDGE_PAUSE_SECONDS", default=30.0),
    # /metrics answers a scraper with this bearer token, or a direct caller from these networks.
    "METRICS_TOKEN": env.str("BPM_METRICS_TOKEN", default=""),
    "METRICS_ALLOWED_NETWORKS": env.list("BPM_METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"]),
    # An Idempotency-Key claimed by a request that never finished is free again after this.
    "IDEMPOTENCY_STALE_SECONDS": env.int("BPM_IDEMPOTENCY_STALE_SECONDS", default=60),
    # /engine-rest (Camunda 7 REST compatibility): its URL prefix, the longest long poll a
    # worker may ask for (Camunda: 30 min), and the Redis that wakes workers waiting on other
    # web processes (empty: only this process's own commands wake them; a re-check every few
    # seconds catches the rest).
    "ENGINE_REST_PREFIX": env.str("BPM_ENGINE_REST_PREFIX", default="engine-rest"),
    "LONG_POLL_MAX_SECONDS": env.float("BPM_LONG_POLL_MAX_SECONDS", default=1800.0),
    "LONG_POLL_RECHECK_SECONDS": env.float("BPM_LONG_POLL_RECHECK_SECONDS", default=5.0),
    "LONG_POLL_REDIS_URL": env.str("BPM_LONG_POLL_REDIS_URL", default=""),
    # History retention (docs/OPERATIONS.md): days an ended instance is kept when its process sets
    # no camunda:historyTimeToLive (empty: for ever); approval decisions may be kept longer
    # (empty: for ever); the cleanup runs daily in this local-time window, in batches.
    "HISTORY_TTL_DAYS": env.int("BPM_HISTORY_TTL_DAYS", default=None),
    "APPROVAL_RETENTION_DAYS": env.int("BPM_APPROVAL_RETENTION_DAYS", default=None),
    "HISTORY_CLEANUP_WINDOW": env.str("BPM_HISTORY_CLEANUP_WINDOW", default="01:00-05:00"),
    "HISTORY_CLEANUP_BATCH": env.int("BPM_HISTORY_CLEANUP_BATCH", default=500),
    # instances a batch does per transaction (services/batches.py)
    "BATCH_CHUNK": env.int("BPM_BATCH_CHUNK", default=50),
    # a running batch no worker moved on for this long is handed out again
    "BATCH_STALLED_SECONDS": env.float("BPM_BATCH_STALLED_SECONDS", default=60.0),
    "SITE_NAME": env.str("BPM_SITE_NAME", default="BPM"),
    "PUBLIC_URL": env.str("BPM_PUBLIC_URL", default="http://127.0.0.1:8000"),
    # Key for connection secrets at rest (defaults to one derived from SECRET_KEY).
    "SECRETS_KEY": env.str("BPM_SECRETS_KEY", default=""),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # SpiffWorkflow logs every task state change at INFO: far too much for production logs.
    "loggers": {"spiff": {"level": env.str("SPIFF_LOG_LEVEL", default="WARNING")}},
}
