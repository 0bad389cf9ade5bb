"""Rules of the code's layout that no linter checks: cited paths exist, test modules do not import
each other, private names stay in their package (layers: .importlinter, `make lint`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "node_modules", ".data", "artifacts", "__pycache__", ".hypothesis", ".pytest_cache",
             ".import_linter_cache", "fixtures"}
TEXT_SUFFIXES = {".py", ".md", ".html", ".js", ".toml", ".txt", ".ini", ".cfg"}
# A repository path: at least one folder, a file name with a known suffix, not part of a longer
# path or URL (`/usr/lib/...`, `https://...`, Django's `docs/releases/...` inside its sdist).
CITED = re.compile(r"(?<![\w/.:~-])((?:[\w-]+/)+[\w.-]+\.(?:py|md|html|js|json|toml|txt|ini|css))\b")
NOT_OURS = ("docs/releases/",)  # Django's release notes, read from its sdist by .ci/audit.py


def _files(suffixes=TEXT_SUFFIXES):
    for path in ROOT.rglob("*"):
        if path.is_file() and path.suffix in suffixes and not SKIP_DIRS & set(path.relative_to(ROOT).parts):
            yield path
    for name in ("Makefile", ".importlinter", ".ci/run"):
        yield ROOT / name


def _search_folders() -> list[Path]:
    """The repository root, and the template and static folders (a template or static name such
    as `web/login.html` is cited relative to them)."""
    folders = [ROOT, ROOT / "templates"]
    folders += [p for p in ROOT.glob("*/templates") if p.is_dir()]
    folders += [p for p in ROOT.glob("*/static") if p.is_dir()]
    return folders


def _top_level() -> set[str]:
    return {p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in SKIP_DIRS}


def test_every_cited_path_exists():
    tops = _top_level()
    missing = []
    for path in _files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for cited in CITED.findall(line):
                if cited.startswith(NOT_OURS):
                    continue
                if cited.split("/")[0] not in tops and not any((f / cited).exists() for f in _search_folders()[1:]):
                    continue
                if not any((folder / cited).exists() for folder in _search_folders()):
                    missing.append(f"{path.relative_to(ROOT)}:{number}: {cited}")
    assert not missing, "\n".join(missing)


def _imports(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def test_no_test_module_imports_another():
    """Shared fixtures live in conftest.py files and helpers in support modules (docs/development.md)."""
    offenders = []
    for path in (ROOT / "tests").rglob("*.py"):
        if SKIP_DIRS & set(path.relative_to(ROOT).parts):
            continue
        for module, names in _imports(path):
            last = module.rsplit(".", 1)[-1]
            imported = [module] + [f"{module}.{n}" for n in names]
            if module.startswith("tests") and any(
                    part.rsplit(".", 1)[-1].startswith("test_") or part.rsplit(".", 1)[-1] == "conftest"
                    for part in imported) or (module.startswith("tests") and last.startswith("test_")):
                offenders.append(f"{path.relative_to(ROOT)}: {module} {names}")
    assert not offenders, "\n".join(offenders)


def test_private_names_are_not_imported_across_packages():
    """`from x import _name` only inside the package that defines `_name`."""
    packages = {"accounts", "agents", "workflows", "notifications", "monitoring", "realtime", "web",
                "supabase_api", "echelon"}
    offenders = []
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            for module, names in _imports(path):
                top = module.split(".")[0]
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                if top in packages and top != package and private:
                    offenders.append(f"{path.relative_to(ROOT)}: from {module} import {', '.join(private)}")
    assert not offenders, "\n".join(offenders)
