"""Fail loudly when PyPI's vulnerability data cannot be read, before `pip-audit` runs.

pip-audit asks `https://pypi.org/pypi/<name>/<version>/json` for each pinned release. When
that endpoint cannot be reached, or answers without the release's advisory list, pip-audit
says only "Dependency not found on PyPI and could not be audited", which reads like a
problem with the package. This check asks once, for the first pin of the requirements file,
and names the real problem: the audit did not run. Exit 0: the service answers; 2: it does not.
Usage: python .ci/audit_service_check.py requirements.txt
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request

PYPI_JSON = os.environ.get("AUDIT_PYPI_JSON_URL", "https://pypi.org/pypi")
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def first_pin(requirements: str) -> tuple[str, str]:
    with open(requirements, encoding="utf-8") as lines:
        for line in lines:
            if match := PIN.match(line):
                return match[1], match[2]
    raise SystemExit(f"audit: no `name==version` pin found in {requirements}")


def problem_with_service(name: str, version: str) -> str | None:
    url = f"{PYPI_JSON}/{name}/{version}/json"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            document = json.load(response)
    except urllib.error.HTTPError as error:
        return f"{url} answered HTTP {error.code}: this index does not serve per-release vulnerability data"
    except (urllib.error.URLError, OSError) as error:
        return f"cannot reach {url}: {getattr(error, 'reason', error)}"
    except ValueError:
        return f"{url} did not answer JSON"
    if not isinstance(document, dict) or "vulnerabilities" not in document:
        return f"{url} answered without a 'vulnerabilities' list"
    return None


def main(argv: list[str]) -> int:
    requirements = argv[1] if len(argv) > 1 else "requirements.txt"
    name, version = first_pin(requirements)
    problem = problem_with_service(name, version)
    if problem:
        print(
            f"audit: FAILED, the dependency audit did NOT run: {problem}.\n"
            "audit: pip-audit needs PyPI's JSON API (pypi.org/pypi/<name>/<version>/json); "
            "see README, Security.",
            file=sys.stderr,
        )
        return 2
    print(f"audit: PyPI vulnerability data reachable ({name}=={version} answered).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
