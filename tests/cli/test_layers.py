"""The include graph follows the layers of docs/ARCHITECTURE.md (scripts/check_layers.py)."""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import check

REPO = Path(__file__).resolve().parent.parent.parent
SCRIPT = REPO / 'scripts' / 'check_layers.py'


def _check(repo):
    return subprocess.run([sys.executable, str(SCRIPT), str(repo)], capture_output=True, text=True)


def test_include_graph():
    res = _check(REPO)
    check(res.returncode == 0, 'include graph against the layers:\n' + res.stdout + res.stderr)


def test_checker_sees_an_upward_include():
    """A copy of the tree with one upward include and one cycle: the checker must say so."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        for part in ('src', 'include', 'tools', 'docs'):
            shutil.copytree(REPO / part, copy / part)
        (copy / 'src' / 'core' / 'up.c').write_text('#include "batch/run.h"\n')
        (copy / 'src' / 'store' / 'up.c').write_text('#include "catalog/catalog.h"\n')
        (copy / 'tools' / 'vidx' / 'up.c').write_text('#include "store/fs.h"\n')
        res = _check(copy)
        check(res.returncode == 1, 'the checker passed a tree with upward includes:\n' + res.stdout)
        for want in ('src/core/up.c', 'src/store/up.c', 'tools/vidx/up.c', 'cycle between folders'):
            check(want in res.stdout, 'the checker did not report %s:\n%s' % (want, res.stdout))
