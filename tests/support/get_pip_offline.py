"""Stand-in for pip's bootstrap script that ansible-test downloads for its venvs.

ansible-test fetches get-pip.py from a host these machines cannot reach. This
script does the same job with what Python ships: ensurepip installs the
bundled pip, which then installs what ansible-test asked for from the package
index. ansible-test also hides the machine's pip settings, so the system CA
bundle is handed to every later pip run in the venv through sitecustomize.
"""

import ensurepip
import ssl
import subprocess
import sys
import sysconfig
from pathlib import Path

ensurepip.bootstrap(upgrade=True)
ca_bundle = ssl.get_default_verify_paths().cafile
if ca_bundle:
    hook = Path(sysconfig.get_paths()["purelib"]) / "sitecustomize.py"
    hook.write_text(f"import os\nos.environ.setdefault('PIP_CERT', {ca_bundle!r})\n")
# get-pip.py takes these two options; pip install does not.
arguments = [arg for arg in sys.argv[1:] if arg not in {"--no-setuptools", "--no-wheel"}]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *arguments]))
