"""The Colab/Binder setup cell installs a genmod that the notebook's imports then find.

The first code cell of every notebook installs the helper package with
``pip install "genmod @ git+{REPO_URL}.git#subdirectory=code"`` when ``genmod`` is
missing. This test runs that cell's own lines, taken from a notebook, in a fresh
virtual environment without genmod, with ``REPO_URL`` pointed at a bare clone of this
checkout instead of the public repository (so it works offline: the clone holds the
committed code, and the dependencies come from pip's cache or the package index),
then imports genmod there as the notebook does.
"""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "book" / "gans" / "gan_mnist_torch.py"


def _install_lines(source: str) -> str:
    """The setup cell's install block: from its first line to the `if ... find_spec("genmod") is None:` block."""
    cell = source.split("# %%\n")[1]
    tree = ast.parse(cell)
    end = next(n for n in tree.body if isinstance(n, ast.If) and "find_spec" in ast.unparse(n.test)).end_lineno
    return "\n".join(cell.splitlines()[:end])


def test_setup_cell_installs_genmod_into_a_fresh_environment(tmp_path):
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.fail("the checkout has no commit to install from")
    block = _install_lines(NOTEBOOK.read_text())
    assert 'REPO_URL = "https://github.com/' in block and "subdirectory=code" in block
    bare = tmp_path / "genmod-book"
    subprocess.run(["git", "clone", "-q", "--bare", str(ROOT), f"{bare}.git"], check=True)
    block = block.replace(block.split('REPO_URL = "')[1].split('"')[0], f"file://localhost{bare}")  # pip 23 refuses file:/// in "name @ url"

    venv = tmp_path / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    before = subprocess.run([str(python), "-c", "import genmod"], capture_output=True, text=True)
    assert before.returncode != 0, "the fresh environment must not have genmod yet"

    script = block + "\n" + textwrap.dedent("""
        import genmod
        from genmod import pick
        from genmod.metrics import mmd2_against_real
        from genmod.plotting import gan_curves, image_grid, samples_and_classes
        print("genmod at", genmod.__file__, "scale", genmod.get_scale(), pick(quick=1, book=2, full=3))
    """)
    run = subprocess.run([str(python), "-c", script], capture_output=True, text=True, timeout=900,
                         cwd=tmp_path, env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(Path.home()),
                                            "GENMOD_SCALE": "quick"})
    assert run.returncode == 0, f"the setup cell failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    assert f"genmod at {venv}" in run.stdout and "scale quick 1" in run.stdout
