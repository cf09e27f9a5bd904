"""The domain rooms stay free of Flask and the database (Architecture Patterns layering)."""
import ast
import subprocess
import sys
from pathlib import Path

DOMAIN = ["gridroute.grids.coords", "gridroute.grids.layers", "gridroute.grids.validate",
          "gridroute.grids.locator", "gridroute.cases.model", "gridroute.cases.workflow",
          "gridroute.cases.duplicates", "gridroute.rules.engine", "gridroute.rules.parse",
          "gridroute.rules.shadows", "gridroute.rules.holder",
          "gridroute.sla.calendar", "gridroute.sla.clock", "gridroute.sla.lights",
          "gridroute.reference.loaders"]


def test_domain_modules_import_neither_flask_nor_sqlalchemy():
    code = ("import sys, importlib\n"
            f"for name in {DOMAIN!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in ('flask', 'sqlalchemy', 'click', 'apscheduler') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- services

SERVICES = Path(__file__).resolve().parent.parent / "gridroute" / "services"
# Still building their own SQL (issue 9: they move to repositories in gridroute/store/):
# remove each name as its module moves, then the list is empty and the test strict.
KNOWN_OFFENDERS: set[str] = set()


def _database_imports(path: Path) -> list[str]:
    """`sqlalchemy…` and `gridroute.store.tables` imports anywhere in the module, also inside
    functions and under TYPE_CHECKING."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [f"{path.name}:{node.lineno}: {name}" for name in names
                  if name.split(".")[0] == "sqlalchemy" or name == "gridroute.store.tables"]
    return found


def test_services_reach_the_database_only_through_store_repositories():
    offenders = {}
    for path in sorted(SERVICES.glob("*.py")):
        found = _database_imports(path)
        if found:
            offenders[path.name] = found
    assert set(offenders) - KNOWN_OFFENDERS == set(), offenders
    # a listed module that no longer offends is taken off the list
    assert KNOWN_OFFENDERS - set(offenders) == set()


def test_the_database_import_check_sees_every_form(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import sqlalchemy as sa\n"
                      "from gridroute.store import tables as t\n"
                      "def f():\n    from sqlalchemy.engine import Engine\n"
                      "from gridroute.store.repository import UnitOfWork\n", encoding="utf-8")
    assert _database_imports(sample) == [
        "sample.py:1: sqlalchemy", "sample.py:2: gridroute.store.tables",
        "sample.py:4: sqlalchemy.engine", "sample.py:4: sqlalchemy.engine.Engine"]
