"""Layers point down in the import graph: the model imports nothing above it."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
# what each layer may import from the app (besides itself)
ALLOWED = {
    "model": {"app.errors"},
    "spread": {"app.errors", "app.model"},
    "anatomy": {"app.errors", "app.model"},
}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            if node.module == "app":
                out.update(f"app.{a.name}" for a in node.names)
    return out


def test_lower_layers_import_nothing_above_them():
    bad = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((APP / layer).rglob("*.py")):
            for mod in imports_of(path):
                if not mod.startswith("app"):
                    continue
                if mod.startswith(f"app.{layer}") or any(
                        mod == a or mod.startswith(a + ".") for a in allowed):
                    continue
                bad.append(f"{path.relative_to(APP.parent)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_the_check_sees_imports_inside_functions(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from app import anatomy\n    import app.spread.model\n")
    assert {"app.anatomy", "app.spread.model"} <= imports_of(f)
