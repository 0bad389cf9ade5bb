"""Dependency audit: every pin of requirements.txt against the known vulnerabilities.

Run by `make audit` and by CI after `make test`. It reads PyPI's vulnerability records, the
same advisories pip-audit reads (PyPA advisory database and OSV), through the endpoints this
machine kind can reach; each pin is judged by the most exact source that answers:

1. `pypi.org/pypi/<name>/<version>/json`: PyPI's records for exactly the pinned release
   (pip-audit's source; the registry proxy here answers it with 404).
2. `pypi.org/pypi/<name>/json` when the pin *is* the newest release: that document carries
   the newest release's records, so for such a pin they are exact too.
3. A pin behind the newest release (Django's LTS series, jsonschema_rs capped by schemathesis):
   - Django: its own security archive and release notes, from the newest sdist: every CVE
     listed for the pinned series must be named by a release note of that series at or before
     the pin.
   - otherwise: the newest release's records (taken to apply to the pin too) and the changelog
     in the newest sdist for the releases after the pin: a known vulnerability of the pin either
     still affects the newest release or was fixed after the pin, and then the changelog says
     so; any entry that speaks of security, a vulnerability, a CVE, GHSA or RUSTSEC fails.

Every pin must also exist on PyPI and not be yanked. A finding that does not apply is listed in
`.ci/audit-ignore.txt` (`ID  reason`), so the reason stays next to the decision.

Exit 0: every pin checked, nothing known. 1: a vulnerability, a yanked pin or a security note
after the pin. 2: some pin could not be checked (named), so the audit did not cover everything.
Usage: python .ci/audit.py [--index URL] [--ignore FILE] [requirements.txt ...]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
import tarfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from packaging.version import InvalidVersion, Version

PYPI = "https://pypi.org/pypi"
IGNORE_FILE = Path(__file__).with_name("audit-ignore.txt")
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")
SECURITY_WORDS = re.compile(r"\b(security|vulnerab\w*|CVE-\d{4}-\d+|GHSA(-\w{4}){3}|RUSTSEC-\d{4}-\d+)\b", re.I)


class Unreachable(Exception):
    """A source that should answer did not (network, proxy or server error)."""


@dataclass(frozen=True)
class Finding:
    """A known vulnerability or red flag; `ids` (advisory id and aliases) can be ignored by name."""

    text: str
    ids: tuple[str, ...] = ()


@dataclass
class Verdict:
    """What the audit concluded for one pin, and from which source."""

    name: str
    version: str
    evidence: str = ""
    findings: list[Finding] = field(default_factory=list)
    unchecked: str = ""  # why no source could judge this pin


def read_pins(paths: list[str]) -> list[tuple[str, str]]:
    pins: dict[str, tuple[str, str]] = {}
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if match := PIN.match(line):
                pins.setdefault(normalize(match[1]), (match[1], match[2]))
    if not pins:
        raise SystemExit(f"audit: no `name==version` pin found in {', '.join(paths)}")
    return list(pins.values())


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def fetch(url: str, attempts: int = 3) -> bytes | None:
    """The body at `url`; None for 404 (the document does not exist or is not served).

    A 5xx or a network error is retried (1 s, then 2 s): one hiccup of the index should not
    turn a CI run red; a source that stays down leaves the pin unchecked (exit 2)."""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            problem = Unreachable(f"{url} answered HTTP {error.code}")
            if error.code < 500 and error.code != 429:
                raise problem from error
        except (urllib.error.URLError, OSError) as error:
            problem = Unreachable(f"cannot reach {url}: {getattr(error, 'reason', error)}")
        if attempt + 1 < attempts:
            time.sleep(2**attempt)
    raise problem


def fetch_json(url: str) -> dict | None:
    body = fetch(url)
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError as error:
        raise Unreachable(f"{url} did not answer JSON") from error


def active_records(records: list[dict]) -> list[Finding]:
    """`ID (aliases): summary; fixed in …` for every record PyPI has not withdrawn."""
    found = []
    for record in records:
        if record.get("withdrawn"):
            continue
        aliases = record.get("aliases") or []
        also = f" ({', '.join(aliases)})" if aliases else ""
        fixed = ", ".join(record.get("fixed_in") or [])
        summary = (record.get("summary") or record.get("details") or "").strip().splitlines()
        text = (f"{record.get('id')}{also}: "
                f"{summary[0][:100] if summary else 'no summary'}; "
                f"{f'fixed in {fixed}' if fixed else 'no fixed release listed'}")
        found.append(Finding(text, (record.get("id"), *aliases)))
    return found


def newest_sdist(project: dict, base_url: str) -> tuple[str, bytes] | None:
    """(file name, bytes) of the sdist of the most recently uploaded final release."""
    candidates = []
    for version, files in project["releases"].items():
        try:
            if Version(version).is_prerelease:
                continue
        except InvalidVersion:
            continue
        for file in files:
            if file["packagetype"] == "sdist" and not file.get("yanked"):
                candidates.append((file["upload_time_iso_8601"], file))
    if not candidates:
        return None
    file = max(candidates, key=lambda pair: pair[0])[1]
    body = fetch(urljoin(base_url, file["url"]))
    if body is None:
        return None
    if hashlib.sha256(body).hexdigest() != file["digests"]["sha256"]:
        raise Unreachable(f"{file['filename']}: sha256 does not match PyPI's digest")
    return file["filename"], body


def sdist_texts(body: bytes, wanted) -> dict[str, str]:
    """Text of every member of the sdist whose path satisfies `wanted`."""
    texts = {}
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile() and wanted(member.name):
                texts[member.name] = archive.extractfile(member).read().decode("utf-8", "replace")
    return texts


# Django: docs/releases/security.txt lists each CVE with the series it affected
# ("* Django 5.2 :commit:`(patch) <…>`"); docs/releases/<series>.<n>.txt name the CVEs each
# release fixes ("CVE-2026-108147: …" headings). The archive lags the release notes by a few
# days, so both are read.
ARCHIVE_ENTRY = re.compile(r"^.+ - :cve:`(\d{4}-\d+)`\s*$", re.M)
ARCHIVE_SERIES = re.compile(r"^\* Django (\d+\.\d+)\b", re.M)
NOTE_CVE = re.compile(r"\bCVE-(\d{4}-\d+)\b")


def django_unfixed(pinned: str, texts: dict[str, str]) -> tuple[list[Finding], int]:
    """(CVEs affecting the pinned release, number of CVEs listed for its series)."""
    pin = Version(pinned)
    series = f"{pin.major}.{pin.minor}"
    affecting: set[str] = set()
    fixed_in: dict[str, Version] = {}
    note_name = re.compile(rf"/docs/releases/{re.escape(series)}(\.\d+)?\.txt$")
    for path, text in texts.items():
        if path.endswith("/docs/releases/security.txt"):
            entries = ARCHIVE_ENTRY.split(text)
            # split() gives [preamble, cve, body, cve, body, …]
            for cve, body in zip(entries[1::2], entries[2::2]):
                if series in ARCHIVE_SERIES.findall(body):
                    affecting.add(cve)
        elif match := note_name.search(path):
            release = Version(series + (match[1] or ".0"))
            for cve in set(NOTE_CVE.findall(text)):
                affecting.add(cve)
                fixed_in[cve] = min(fixed_in.get(cve, release), release)
    unfixed = [
        Finding(f"CVE-{cve}: " + (f"fixed in {fixed_in[cve]}" if cve in fixed_in
                                  else f"no {series}.x release names its fix"), (f"CVE-{cve}",))
        for cve in sorted(affecting)
        if cve not in fixed_in or fixed_in[cve] > pin
    ]
    return unfixed, len(affecting)


def changelog_security_notes(pinned: str, newest: str, texts: dict[str, str]) -> tuple[list[str], int] | None:
    """(security-sounding lines, number of sections read) of the changelog after the pin.

    None when no changelog in the sdist has a section for the newest release (then the
    changelog cannot vouch for anything)."""
    pin, top = Version(pinned), Version(newest)
    heading = re.compile(r"^#{1,3}\s*\[?v?(\d+(?:\.\d+)+)\]?.*$|^v?(\d+(?:\.\d+)+)\s*(?:\(.*\))?\s*\n[-=~]{3,}", re.M)
    for text in texts.values():
        sections = []
        marks = list(heading.finditer(text))
        for index, mark in enumerate(marks):
            end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
            try:
                sections.append((Version(mark[1] or mark[2]), text[mark.end():end]))
            except InvalidVersion:
                continue
        if not any(version == top for version, _ in sections):
            continue
        after_pin = [(version, body) for version, body in sections if pin < version <= top]
        notes = [
            f"{version}: {line.strip()[:120]}"
            for version, body in after_pin
            for line in body.splitlines()
            if SECURITY_WORDS.search(line)
        ]
        return notes, len(after_pin)
    return None


def is_changelog(path: str) -> bool:
    return re.search(r"/(CHANGELOG|CHANGES|HISTORY|NEWS)(\.(md|rst|txt))?$", path, re.I) is not None


def audit_pin(name: str, version: str, index: str = PYPI) -> Verdict:
    verdict = Verdict(name, version)
    try:
        release = fetch_json(f"{index}/{name}/{version}/json")
        project_url = f"{index}/{name}/json"
        project = fetch_json(project_url)
    except Unreachable as error:
        verdict.unchecked = str(error)
        return verdict
    if project is None:
        verdict.findings.append(Finding(f"{name} is not on PyPI"))
        return verdict
    files = project["releases"].get(version)
    if not files:
        verdict.findings.append(Finding(f"{name}=={version} is not a release on PyPI"))
        return verdict
    if yanked := [file for file in files if file.get("yanked")]:
        reason = yanked[0].get("yanked_reason") or "no reason given"
        verdict.findings.append(Finding(f"{name}=={version} is yanked: {reason}"))
    newest = project["info"]["version"]
    if release is not None and "vulnerabilities" in release:
        verdict.evidence = "PyPI records for this release"
        verdict.findings += active_records(release["vulnerabilities"])
    elif Version(version) == Version(newest):
        verdict.evidence = "PyPI records (pin is the newest release)"
        verdict.findings += active_records(project["vulnerabilities"])
    else:
        behind_newest(verdict, project, project_url, newest)
    return verdict


def behind_newest(verdict: Verdict, project: dict, project_url: str, newest: str) -> None:
    try:
        sdist = newest_sdist(project, project_url)
    except Unreachable as error:
        verdict.unchecked = str(error)
        return
    if sdist is None:
        verdict.unchecked = f"behind the newest release {newest} and no sdist to read its history from"
        return
    filename, body = sdist
    if normalize(verdict.name) == "django":
        texts = sdist_texts(body, lambda path: "/docs/releases/" in path and path.endswith(".txt"))
        unfixed, listed = django_unfixed(verdict.version, texts)
        series = ".".join(verdict.version.split(".")[:2])
        verdict.evidence = f"Django security archive + {series}.x release notes in {filename} ({listed} CVEs for {series})"
        verdict.findings += unfixed
        if not listed:
            verdict.unchecked = f"{filename} lists no CVE for Django {series}: cannot tell fixed from unknown"
        return
    changelog = changelog_security_notes(verdict.version, newest, sdist_texts(body, is_changelog))
    if changelog is None:
        verdict.unchecked = f"behind the newest release {newest}; {filename} has no changelog section for it"
        return
    notes, releases = changelog
    # A known vulnerability of the pin either still affects the newest release (then PyPI
    # lists it there) or was fixed in a release after the pin (then its changelog says so).
    verdict.evidence = (f"PyPI records of {newest} + changelog of the {releases} releases after the pin "
                        f"in {filename}")
    verdict.findings += active_records(project["vulnerabilities"])
    verdict.findings += [Finding(f"security note after the pin: {note}") for note in notes]


def read_ignores(path: Path) -> dict[str, str]:
    """`ID  reason` lines: findings that were reviewed and do not apply, with why."""
    ignores = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, reason = line.strip().partition(" ")
                if not reason.strip():
                    raise SystemExit(f"audit: {path.name}: {key} has no reason; say why it does not apply")
                ignores[key] = reason.strip()
    return ignores


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Known vulnerabilities of pinned requirements.")
    parser.add_argument("requirements", nargs="*", default=["requirements.txt"])
    parser.add_argument("--index", default=PYPI, help="PyPI JSON API root (default %(default)s)")
    parser.add_argument("--ignore", type=Path, default=IGNORE_FILE, help="reviewed findings, `ID  reason`")
    options = parser.parse_args(argv[1:])
    ignores = read_ignores(options.ignore)
    pins = read_pins(options.requirements)
    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(pool.map(lambda pin: audit_pin(*pin, index=options.index), pins))
    failed, unchecked = [], []
    for verdict in sorted(verdicts, key=lambda v: normalize(v.name)):
        live = [finding for finding in verdict.findings if not ignores.keys() & set(finding.ids)]
        status = "FAIL" if live else ("UNCHECKED" if verdict.unchecked else "ok")
        print(f"{status:9} {verdict.name}=={verdict.version}  [{verdict.evidence or verdict.unchecked}]")
        for finding in verdict.findings:
            reasons = [ignores[key] for key in finding.ids if key in ignores]
            print(f"          - {finding.text}" + (f"  (ignored: {reasons[0]})" if reasons else ""))
        (failed if live else unchecked if verdict.unchecked else []).append(verdict)
    print(f"audit: {len(verdicts)} pins, {len(failed)} with findings, {len(unchecked)} unchecked")
    if failed:
        return 1
    if unchecked:
        print("audit: INCOMPLETE, not checked: " + ", ".join(f"{v.name} ({v.unchecked})" for v in unchecked),
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
