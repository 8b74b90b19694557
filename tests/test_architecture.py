"""Import rules from STYLE.md §1, checked on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
ADAPTERS = {"wechat", "brokerage", "sms"}
COMPOSITION_ROOTS = {"main", "cli", "all_models", "__main__"}
# A feature may use another feature only through these modules.
# `dependencies`: app/ops/dependencies.py's require_role(...) guards every feature's ops routes.
PUBLIC_MODULES = {"service", "schemas", "constants", "errors", "dependencies"}
# The simulator fakes third parties: it may use adapters (to sign like WeChat) but no feature.
SIMULATOR = "simulator"


def _app_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("app.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "app":
                found += [(node.lineno, f"app.{a.name}") for a in node.names]
            elif node.module.startswith("app."):
                module = node.module
                found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
    return found


def _violations() -> list[str]:
    problems: list[str] = []
    for path in sorted(APP.rglob("*.py")):
        rel = path.relative_to(APP)
        owner = rel.parts[0].removesuffix(".py")
        if owner in COMPOSITION_ROOTS:
            continue
        for lineno, name in _app_imports(path):
            parts = name.split(".")
            target = parts[1]
            where = f"app/{rel}:{lineno} imports {name}"
            if target == owner or target == "core":
                continue
            if owner == "core":
                problems.append(f"{where}: core imports no app package")
            elif owner in ADAPTERS:
                problems.append(f"{where}: adapters import only core")
            elif owner == SIMULATOR:
                if target not in ADAPTERS:
                    problems.append(f"{where}: the simulator may use adapters only")
            elif target in ADAPTERS:
                continue
            elif target in COMPOSITION_ROOTS or target == SIMULATOR:
                problems.append(f"{where}: features never import the composition root")
            elif len(parts) < 3 or parts[2] not in PUBLIC_MODULES:
                problems.append(f"{where}: use another feature through its service module")
    return problems


def test_import_rules_hold() -> None:
    assert _violations() == []


@pytest.mark.parametrize("banned", ["requests", "wechatpy.client"])
def test_banned_modules_are_not_imported(banned: str) -> None:
    offenders = []
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == banned or n.startswith(banned + ".") for n in names):
                offenders.append(str(path))
    assert offenders == []


def test_all_models_imports_every_models_module() -> None:
    text = (APP / "all_models.py").read_text()
    for models in APP.rglob("models.py"):
        module = ".".join(models.relative_to(APP.parent).with_suffix("").parts)
        if "simulator" in module:
            continue
        assert module in text, f"{module} missing from app/all_models.py"
