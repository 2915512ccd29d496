"""The bounded load generator, for the tests: it lives in the collection.

The drill playbooks run ``playbooks/files/loadgen.py`` as a script on the
controller; the tests load the same file as a module, so that there is one
generator and one way of counting.
"""

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "playbooks" / "files" / "loadgen.py"
_SPEC = importlib.util.spec_from_file_location("e5ops_loadgen", _PATH)
assert _SPEC is not None, _PATH
assert _SPEC.loader is not None, _PATH
_MODULE = importlib.util.module_from_spec(_SPEC)
# dataclasses look their module up in sys.modules while the module runs.
sys.modules[_SPEC.name] = _MODULE
_SPEC.loader.exec_module(_MODULE)

Load = _MODULE.Load
LoadReport = _MODULE.LoadReport
__all__ = ["Load", "LoadReport"]
