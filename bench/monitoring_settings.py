"""Settings of the metering benchmark's server: Echelon's, plus a tiny authenticated view."""

from echelon.settings import *  # noqa: F403

ROOT_URLCONF = "bench.monitoring_urls"
