"""The domain rooms stay free of Flask and the database (Architecture Patterns layering)."""
import subprocess
import sys

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
