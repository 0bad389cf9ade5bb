"""The dependency audit (`.ci/audit.py`, run by CI after `make test`) against a fake PyPI.

The fake serves documents recorded from pypi.org (tests/fixtures/pypi/README.md). Like the
registry proxy of this machine kind, it answers 404 for per-release documents unless a test
serves one, as pypi.org itself does.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = ROOT / "tests" / "fixtures" / "pypi"


def load_audit():
    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


audit = load_audit()


def sdist(prefix: str, files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            member = tarfile.TarInfo(f"{prefix}/{path}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


class FakePyPI:
    """Recorded project documents; every sdist they list is `tarball` (digest rewritten)."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.index = httpserver.url_for("/pypi")

    def project(self, recording: str, name: str, tarball: bytes | None = None, edit=None, **changes):
        document = json.loads((RECORDINGS / recording).read_text())
        document.update(changes)
        if edit:
            edit(document)
        for version, files in document["releases"].items():
            self.server.expect_request(f"/pypi/{name}/{version}/json").respond_with_data("", status=404)
            for file in files if tarball is not None else []:
                file["url"] = f"../../packages/{file['filename']}"
                file["digests"]["sha256"] = hashlib.sha256(tarball).hexdigest()
                self.server.expect_request(f"/packages/{file['filename']}").respond_with_data(tarball)
        self.server.expect_request(f"/pypi/{name}/json").respond_with_json(document)

    def run(self, tmp_path: Path, *pins: str, ignore: str = "") -> int:
        requirements = tmp_path / "requirements.txt"
        requirements.write_text("# pinned\n" + "\n".join(pins) + "\n")
        ignore_file = tmp_path / "audit-ignore.txt"
        ignore_file.write_text(ignore)
        return audit.main(["audit", "--index", self.index, "--ignore", str(ignore_file), str(requirements)])


@pytest.fixture(autouse=True)
def answers_404_for_unknown_paths(httpserver):
    """As pypi.org answers for what it does not have (the shared server answers 500 by default)."""
    default, httpserver.no_handler_status_code = httpserver.no_handler_status_code, 404
    yield
    httpserver.no_handler_status_code = default


@pytest.fixture
def pypi(httpserver):
    return FakePyPI(httpserver)


def django_docs(*names: str) -> dict[str, str]:
    return {f"docs/releases/{name}": (RECORDINGS / "django-docs-releases" / name).read_text() for name in names}


ALL_DJANGO_DOCS = ("security.txt", "5.2.18.txt", "5.2.19.txt")
CVES_FIXED_IN_5_2_19 = ["CVE-2026-108147", "CVE-2026-111211", "CVE-2026-111362", "CVE-2026-113593", "CVE-2026-114582"]


def test_a_pin_with_known_vulnerabilities_fails_naming_each_advisory(pypi, tmp_path, capsys):
    pypi.project("pycrypto.json", "pycrypto")

    assert pypi.run(tmp_path, "pycrypto==2.6.1") == 1

    out = capsys.readouterr().out
    assert "FAIL      pycrypto==2.6.1  [PyPI records (pin is the newest release)]" in out
    assert "PYSEC-2017-94 (CVE-2013-7459, GHSA-cq27-v7xp-c356): Heap-based buffer overflow" in out
    assert "audit: 1 pins, 1 with findings, 0 unchecked" in out


def test_a_reviewed_finding_is_ignored_by_any_of_its_ids_and_shows_why(pypi, tmp_path, capsys):
    pypi.project("pycrypto.json", "pycrypto")
    reasons = "CVE-2013-7459 ALGnew is never called\nCVE-2018-6594 no ElGamal keys are made\n"

    assert pypi.run(tmp_path, "pycrypto==2.6.1", ignore=reasons) == 0

    out = capsys.readouterr().out
    assert "(ignored: ALGnew is never called)" in out
    assert "(ignored: no ElGamal keys are made)" in out


def test_an_ignore_line_without_a_reason_is_refused(pypi, tmp_path):
    pypi.project("pycrypto.json", "pycrypto")

    with pytest.raises(SystemExit, match="CVE-2013-7459 has no reason"):
        pypi.run(tmp_path, "pycrypto==2.6.1", ignore="CVE-2013-7459\n")


def test_per_release_records_are_used_first_where_pypi_serves_them(httpserver, tmp_path, capsys):
    recorded = json.loads((RECORDINGS / "pycrypto.json").read_text())
    httpserver.expect_request("/pypi/pycrypto/2.6/json").respond_with_json(recorded)
    pypi = FakePyPI(httpserver)
    pypi.project("pycrypto.json", "pycrypto")

    assert pypi.run(tmp_path, "pycrypto==2.6") == 1

    assert "FAIL      pycrypto==2.6  [PyPI records for this release]" in capsys.readouterr().out


def test_a_withdrawn_record_is_not_a_finding(pypi, tmp_path, capsys):
    recorded = json.loads((RECORDINGS / "pycrypto.json").read_text())["vulnerabilities"]
    withdrawn = [dict(record, withdrawn="2024-01-01T00:00:00Z") for record in recorded]
    pypi.project("pycrypto.json", "pycrypto", vulnerabilities=withdrawn)

    assert pypi.run(tmp_path, "pycrypto==2.6.1") == 0
    assert "ok        pycrypto==2.6.1" in capsys.readouterr().out


def test_a_yanked_pin_fails_with_the_reason(pypi, tmp_path, capsys):
    def yank(document):
        for file in document["releases"]["2.6.1"]:
            file.update(yanked=True, yanked_reason="broken build")

    pypi.project("pycrypto.json", "pycrypto", edit=yank, vulnerabilities=[])

    assert pypi.run(tmp_path, "pycrypto==2.6.1") == 1
    assert "pycrypto==2.6.1 is yanked: broken build" in capsys.readouterr().out


def test_a_pin_that_is_no_release_fails(pypi, tmp_path, capsys):
    pypi.project("pycrypto.json", "pycrypto")

    assert pypi.run(tmp_path, "pycrypto==9.9") == 1
    assert "pycrypto==9.9 is not a release on PyPI" in capsys.readouterr().out


def test_django_lts_behind_the_newest_release_is_judged_by_its_own_security_archive(pypi, tmp_path, capsys):
    pypi.project("django.json", "Django", sdist("django-5.2.19", django_docs(*ALL_DJANGO_DOCS)))

    assert pypi.run(tmp_path, "Django==5.2.19") == 0

    out = capsys.readouterr().out
    assert "ok        Django==5.2.19  [Django security archive + 5.2.x release notes in django-5.2.19.tar.gz" in out


def test_django_one_release_behind_fails_with_the_cves_its_successor_fixed(pypi, tmp_path, capsys):
    pypi.project("django.json", "Django", sdist("django-5.2.19", django_docs(*ALL_DJANGO_DOCS)))

    assert pypi.run(tmp_path, "Django==5.2.18") == 1

    out = capsys.readouterr().out
    for cve in CVES_FIXED_IN_5_2_19:
        assert f"- {cve}: fixed in 5.2.19" in out
    assert "CVE-2026-77050" not in out  # fixed in 5.2.18, the pin itself


def test_django_cve_listed_for_the_series_but_fixed_by_no_release_note_fails(pypi, tmp_path, capsys):
    # Without 5.2.18's notes, the archive's October CVEs for 5.2 have no known fixing release.
    pypi.project("django.json", "Django", sdist("django-5.2.19", django_docs("security.txt", "5.2.19.txt")))

    assert pypi.run(tmp_path, "Django==5.2.19") == 1
    assert "- CVE-2026-77050: no 5.2.x release names its fix" in capsys.readouterr().out


def test_a_pin_behind_the_newest_release_passes_on_its_records_and_changelog(pypi, tmp_path, capsys):
    changelog = (RECORDINGS / "jsonschema-rs-CHANGELOG.md").read_text()
    pypi.project("jsonschema-rs.json", "jsonschema_rs", sdist("jsonschema_rs-0.61.0", {
        "crates/jsonschema-py/CHANGELOG.md": changelog}))

    assert pypi.run(tmp_path, "jsonschema_rs==0.60.3") == 0

    out = capsys.readouterr().out
    assert "PyPI records of 0.61.0 + changelog of the 1 releases after the pin in jsonschema_rs-0.61.0.tar.gz" in out


def test_a_security_note_after_the_pin_in_the_changelog_is_a_finding():
    changelog = (RECORDINGS / "jsonschema-rs-CHANGELOG.md").read_text()

    notes, releases = audit.changelog_security_notes("0.12.1", "0.61.0", {"CHANGELOG.md": changelog})

    assert releases == 5  # the excerpt's 0.12.2, 0.12.3, 0.60.2, 0.60.3 and 0.61.0
    assert len(notes) == 1 and notes[0].startswith("0.12.2: - Switch from `chrono` to `time==0.3.3` due to [RUSTSEC-2020-0159]")
    assert audit.changelog_security_notes("0.60.3", "0.61.0", {"CHANGELOG.md": changelog}) == ([], 1)


def test_an_unreachable_index_leaves_the_audit_incomplete_not_passed(httpserver, tmp_path, capsys):
    httpserver.expect_request("/pypi/pycrypto/2.6.1/json").respond_with_data("", status=503)

    assert FakePyPI(httpserver).run(tmp_path, "pycrypto==2.6.1") == 2

    captured = capsys.readouterr()
    assert "UNCHECKED pycrypto==2.6.1" in captured.out
    assert "audit: INCOMPLETE, not checked: pycrypto (" in captured.err
    assert "answered HTTP 503" in captured.err


def test_an_index_that_does_not_answer_json_leaves_the_audit_incomplete(httpserver, tmp_path, capsys):
    httpserver.expect_request("/pypi/pycrypto/2.6.1/json").respond_with_data("<html>proxy login</html>")

    assert FakePyPI(httpserver).run(tmp_path, "pycrypto==2.6.1") == 2
    assert "/pypi/pycrypto/2.6.1/json did not answer JSON" in capsys.readouterr().err


def test_one_failed_answer_of_the_index_is_retried(httpserver, tmp_path, capsys):
    httpserver.expect_oneshot_request("/pypi/pycrypto/json").respond_with_data("", status=502)
    pypi = FakePyPI(httpserver)
    pypi.project("pycrypto.json", "pycrypto", vulnerabilities=[])

    assert pypi.run(tmp_path, "pycrypto==2.6.1") == 0
    assert "ok        pycrypto==2.6.1" in capsys.readouterr().out
    assert len([call for call, _ in httpserver.log if call.path == "/pypi/pycrypto/json"]) == 2
