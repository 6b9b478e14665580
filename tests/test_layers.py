"""What may import what inside playground/ (docs/architecture.md, "Layers").

Every import of a playground module, at the top of a file or inside a function, is checked
against the layer of the importing file. Pointing the other way is what makes an app depend
on one above it: shared infrastructure belongs at the site level instead. Imports under
`if TYPE_CHECKING:` are exempt: they name a type for annotations (playground/htmx.py's
signed-in request names the accounts User) and never run, so they couple nothing at import.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "playground"

# The modules that wire the site together; they may import anything.
WIRING = {"settings", "urls", "asgi"}
# Layer -> the layers its modules may import ("site": modules directly under playground/).
ALLOWED = {
    "simulator": {"simulator"},
    "providers": {"providers", "simulator"},
    "site": {"site", "providers", "simulator"},
    "accounts": {"accounts", "site", "providers"},
    "keys": {"keys", "accounts", "site", "providers"},
    "prompts": {"prompts", "accounts", "site", "providers"},
    "runs": {"runs", "prompts", "keys", "accounts", "site", "providers"},
    "batches": {"batches", "runs", "prompts", "keys", "accounts", "site", "providers"},
}


def layer_of(module: str) -> str:
    """Return the layer of a dotted module name under playground ("wiring" for settings...)."""
    parts = module.split(".")
    if len(parts) < 2:
        return "site"
    if parts[1] in ALLOWED:
        return parts[1]
    return "wiring" if parts[1] in WIRING else "site"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> set[str]:
    """Return every playground module `path` imports, relative imports resolved."""
    return imports_in(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def imports_in(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Return every playground module `source` (the text of `module`) imports."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = set()
    tree = ast.parse(source)
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from playground import offline` imports the module playground.offline.
            found.update(f"{target}.{alias.name}" for alias in node.names if target == "playground")
    return {name for name in found if name.startswith("playground.")}


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def test_imports_only_for_type_checking_are_exempt() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from playground.runs.models import Run\n"
        "else:\n"
        "    from playground.keys import models\n"
    )
    assert imports_in(source, "playground.accounts.views") == {"playground.keys"}


def test_the_layer_names_match_the_packages() -> None:
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert packages == set(ALLOWED) - {"site"}


def test_no_module_imports_a_layer_above_its_own() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = layer_of(module_name(path))
        if source == "wiring":
            continue
        for name in sorted(imported(path)):
            target = layer_of(name)
            if target not in ALLOWED[source]:
                wrong.append(f"{path.relative_to(ROOT)} ({source}) imports {name} ({target})")
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_upward_imports_written_every_way() -> None:
    source = (
        "from ..keys.models import Credential\n"
        "from playground import runs\n"
        "def late():\n"
        "    import playground.prompts.models\n"
        "from .models import Team\n"
    )
    names = imports_in(source, "playground.accounts.views")
    assert {layer_of(name) for name in names} == {"keys", "runs", "prompts", "accounts"}
    assert "playground.accounts.models" in names
