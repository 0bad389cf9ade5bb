"""Settings of the bench HTTP server: Echelon's, plus the raw-SQL baseline view's URLs."""

from echelon.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
