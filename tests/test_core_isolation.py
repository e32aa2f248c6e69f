"""core must not pull in Textual or Rich: the CLI and the tests drive it without them."""

import subprocess
import sys


def test_importing_core_imports_no_ui():
    code = (
        "import sys, core, core.network, core.gradcheck, core.layers, core.functions, core.gradient\n"
        "import pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'): importlib.import_module(m.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui'))\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
