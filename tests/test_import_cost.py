"""`import kettle` stays as cheap as a package can be: its names load on first use."""

import subprocess
import sys

PROBE = """
import sys
before = set(sys.modules)
import kettle
loaded = sorted(set(sys.modules) - before)
kettle.App
print(" ".join(loaded))
print("kettle.app" in sys.modules, "jinja2" in sys.modules, "sqlalchemy" in sys.modules)
"""


def test_import_kettle_loads_only_the_package_and_its_lazy_loader():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    loaded, after_app = proc.stdout.splitlines()
    assert loaded.split() == ["kettle", "kettle._lazy"]
    # Asking for App imports the app module, and still neither templates nor the ORM.
    assert after_app == "True False False"
