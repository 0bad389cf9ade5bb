"""Server processes freeze what they made while starting (echelon/gcfreeze.py): gunicorn's
workers (echelon.wsgi), daphne (echelon.asgi under daphne); a test importing echelon.asgi does not."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.servers import PROJECT_ROOT

PRINT_FROZEN = "import gc; print(gc.get_freeze_count(), 'echelon.urls' in sys.modules)"


def frozen_after(imports: str) -> tuple[int, bool]:
    """(objects frozen, URLconf imported) in a new interpreter after `imports`."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="echelon.settings", REALTIME_RELAY="0")
    out = subprocess.run([sys.executable, "-c", f"import sys; {imports}; {PRINT_FROZEN}"], env=env, cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    return int(out[0]), out[1] == "True"


@pytest.mark.parametrize("imports", ["import echelon.wsgi", "import daphne.cli; import echelon.asgi"])
def test_a_server_process_freezes_its_start_up_objects_with_the_views_imported(imports):
    count, urls_imported = frozen_after(imports)
    assert count > 50_000 and urls_imported


def test_importing_the_asgi_application_elsewhere_freezes_nothing():
    assert frozen_after("import echelon.asgi")[0] == 0
