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


def _first_code_cell(source: str) -> str:
    """The first code cell of a percent-format .py: the lines after its `# %%` marker (which may
    carry metadata, e.g. `# %% tags=["hide-input"]`) up to the next marker."""
    lines = source.splitlines()
    markers = [i for i, line in enumerate(lines) if line.startswith("# %%")]
    for start, end in zip(markers, markers[1:] + [len(lines)]):
        if "[markdown]" not in lines[start]:
            return "\n".join(lines[start + 1 : end])
    raise AssertionError("the notebook has no code cell")


def _install_lines(source: str) -> str:
    """The setup cell's install block: its first line to the `if find_spec("genmod") is None:`."""
    cell = _first_code_cell(source)
    tree = ast.parse(cell)
    end = next(n for n in tree.body
               if isinstance(n, ast.If) and "find_spec" in ast.unparse(n.test)).end_lineno
    return "\n".join(cell.splitlines()[:end])


def test_the_install_block_is_found_in_a_hidden_setup_cell():
    source = ('# %% [markdown]\n# # Title\n\n# %% tags=["hide-input"]\n# Setup\n'
              'import importlib.util\nREPO_URL = "https://github.com/x/y"\n'
              'if importlib.util.find_spec("genmod") is None:\n'
              '    pass\n\nimport genmod\n\n# %%\nx = 1\n')
    block = _install_lines(source)
    assert block.splitlines()[0] == "# Setup" and block.splitlines()[-1] == "    pass"


@pytest.mark.slow
def test_setup_cell_installs_genmod_into_a_fresh_environment(tmp_path):
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True)
    if head.returncode != 0:
        pytest.fail("the checkout has no commit to install from")
    block = _install_lines(NOTEBOOK.read_text())
    assert 'REPO_URL = "https://github.com/' in block and "subdirectory=code" in block
    bare = tmp_path / "genmod-book"
    subprocess.run(["git", "clone", "-q", "--bare", str(ROOT), f"{bare}.git"], check=True)
    # pip 23 refuses file:/// in "name @ url"
    url = block.split('REPO_URL = "')[1].split('"')[0]
    block = block.replace(url, f"file://localhost{bare}")

    venv = tmp_path / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    before = subprocess.run([str(python), "-c", "import genmod"], capture_output=True, text=True)
    assert before.returncode != 0, "the fresh environment must not have genmod yet"

    script = block + "\n" + textwrap.dedent("""
        import importlib.metadata
        import genmod
        from genmod import pick
        from genmod.metrics import mmd2_against_real
        from genmod.plotting import gan_curves, image_grid, samples_and_classes
        # the version is written once, in genmod/__init__.py, and the installed metadata agrees
        assert importlib.metadata.version("genmod") == genmod.__version__
        print("genmod at", genmod.__file__, "scale", genmod.get_scale(),
              pick(quick=1, book=2, full=3))
    """)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(Path.home()),
           "GENMOD_SCALE": "quick"}
    run = subprocess.run([str(python), "-c", script], capture_output=True, text=True, timeout=900,
                         cwd=tmp_path, env=env)
    assert run.returncode == 0, (
        f"the setup cell failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    )
    assert f"genmod at {venv}" in run.stdout and "scale quick 1" in run.stdout
