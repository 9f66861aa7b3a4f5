"""pip install --no-build-isolation . (Debian's python3-mesonpy, no index) into a
venv with the system's site-packages, then the error tests against the
installed package (VIDX_PY_INSTALLED=1: the build tree is not on the path)."""
import os
import subprocess
import sys

from conftest import REPO


def test_pip_install_into_venv(tmp):
    venv = tmp / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--system-site-packages', str(venv)],
                   check=True, timeout=300)
    py = str(venv / 'bin' / 'python')
    r = subprocess.run([py, '-m', 'pip', 'install', '--no-build-isolation', '--no-index',
                        '--no-cache-dir', str(REPO)], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    env = dict(os.environ, VIDX_PY_INSTALLED='1')
    where = subprocess.run([py, '-c', 'import vidx; print(vidx._vidx.__file__)'], cwd=str(tmp),
                           capture_output=True, text=True, env=env, timeout=60)
    assert where.returncode == 0, where.stderr
    assert where.stdout.startswith(str(venv)), where.stdout
    t = subprocess.run([py, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                        str(REPO / 'tests' / 'python' / 'test_errors.py')],
                       capture_output=True, text=True, env=env, timeout=600, cwd=str(tmp))
    assert t.returncode == 0, t.stdout[-3000:]
