"""Scales and folders (genmod.config, genmod.artifacts)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import genmod
from genmod.config import get_scale, pick


@pytest.mark.parametrize("value, expected",
                         [("quick", "quick"), (" BOOK ", "book"), ("full", "full"), ("", "book")])
def test_scale_parsing(monkeypatch, value, expected):
    monkeypatch.setenv("GENMOD_SCALE", value)
    assert get_scale() == expected


def test_scale_default_when_unset(monkeypatch):
    monkeypatch.delenv("GENMOD_SCALE", raising=False)
    assert get_scale() == "book"


def test_bad_scale_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("GENMOD_SCALE", "huge")
    with pytest.raises(ValueError) as err:
        get_scale()
    for name in ("'huge'", "quick", "book", "full"):
        assert name in str(err.value)


def test_pick_follows_the_scale(monkeypatch):
    for scale, expected in (("quick", 1), ("book", 30), ("full", 100)):
        monkeypatch.setenv("GENMOD_SCALE", scale)
        assert pick(quick=1, book=30, full=100) == expected


# ---------------------------------------------------------------------------
# `import genmod` imports no framework (CONTRIBUTING.md, "Known traps"): only these modules
# may, at their top level. Every other module, found by walking the package, is imported in a
# fresh process that must then hold neither PyTorch nor TensorFlow. A new module that needs a
# framework is added here (and to book/api.md's list), never imported by genmod/__init__.py.
# ---------------------------------------------------------------------------

FRAMEWORKS = ("torch", "torchvision", "tensorflow", "keras")
IMPORTS_PYTORCH = {"genmod.torchutils", "genmod.gan", "genmod.vae", "genmod.rbm",
                   "genmod.gaussian_rbm", "genmod.langevin", "genmod.diffusion",
                   "genmod.ising_rbm"}
IMPORTS_TENSORFLOW = {"genmod.tfutils"}


def _genmod_modules() -> list[str]:
    import pkgutil

    names = [m.name for m in pkgutil.walk_packages(genmod.__path__, "genmod.")]
    return ["genmod"] + sorted(n for n in names if not n.endswith(".__main__"))


def _top_level_imports(module: str) -> set[str]:
    """The top-level packages a module imports at its top level (not inside functions)."""
    import ast
    import importlib.util

    tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_framework_modules_are_the_listed_ones():
    """The list above is the truth: exactly these modules import a framework at their top."""
    for module in _genmod_modules():
        imports = _top_level_imports(module) & set(FRAMEWORKS)
        if module in IMPORTS_PYTORCH:
            assert imports == {"torch"}, f"{module} is listed as PyTorch's, imports {imports}"
        elif module in IMPORTS_TENSORFLOW:
            assert imports == {"tensorflow"}, f"{module} is TensorFlow's, imports {imports}"
        else:
            assert imports == set(), (
                f"{module} imports {imports} at its top: import the framework inside the function "
                "that needs it, or list the module in IMPORTS_PYTORCH / IMPORTS_TENSORFLOW"
            )


@pytest.mark.slow
def test_no_other_module_imports_a_framework():
    """Import every other module of genmod, one after another, in a process with no framework."""
    allowed = IMPORTS_PYTORCH | IMPORTS_TENSORFLOW
    modules = [m for m in _genmod_modules() if m not in allowed]
    assert {"genmod", "genmod.metrics", "genmod.judge", "genmod.judge.classifier",
            "genmod.data.mnist", "genmod.stats", "genmod.ebm_eval"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"    bad = [m for m in {FRAMEWORKS!r} if m in sys.modules]\n"
        "    if bad:\n"
        "        sys.exit(f'importing {name} imported {bad}')\n"
        "print(len(sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]


def test_save_artifacts_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMOD_ARTIFACTS", str(tmp_path))
    monkeypatch.setenv("GENMOD_SCALE", "quick")
    tanh_images = np.linspace(-1, 1, 5 * 784, dtype=np.float32).reshape(5, 28, 28)
    config = genmod.Config(lr=0.1)
    metrics = {"mmd2": np.float64(0.5), "test_kl": float("nan")}
    folder = genmod.save_artifacts("demo_nb", tanh_images, metrics, kind="images",
                                   value_range=(-1, 1), config=config, device="cpu")
    assert folder == tmp_path / "quick" / "demo_nb"   # one folder a scale, like the builds
    with np.load(folder / "samples.npz") as f:
        images = f["samples"]
    assert images.shape == (5, 28, 28) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    record = json.loads((folder / "metrics.json").read_text())
    assert record["notebook"] == "demo_nb" and record["scale"] == "quick"
    assert record["config"] == {"lr": 0.1}
    assert record["metrics"] == {"mmd2": 0.5, "test_kl": None}
    again, stored = genmod.artifacts.load_artifacts("demo_nb", scale="quick")
    assert again == record and np.array_equal(stored, images)


def test_a_quick_run_never_replaces_a_book_run(tmp_path, monkeypatch):
    """make test after make book: the quick notebooks write beside the book-scale artifacts, not
    over them."""
    monkeypatch.setenv("GENMOD_ARTIFACTS", str(tmp_path))
    points = np.zeros((3, 2))
    for scale in ("book", "quick"):
        monkeypatch.setenv("GENMOD_SCALE", scale)
        genmod.save_artifacts("nb", points + (scale == "book"), {}, kind="points",
                              config=genmod.Config(a=scale), device="cpu")
    record, samples = genmod.artifacts.load_artifacts("nb", scale="book")
    assert record["scale"] == "book" and record["config"] == {"a": "book"} and samples.max() == 1.0
    with pytest.raises(FileNotFoundError, match="GENMOD_SCALE=full"):
        genmod.artifacts.load_artifacts("nb", scale="full")
    with pytest.raises(TypeError):
        genmod.artifacts.load_artifacts("nb")   # the scale must be named
    with pytest.raises(ValueError, match="scale"):
        genmod.artifacts.artifacts_dir("nb", scale="long")


def test_threads_policy(monkeypatch):
    monkeypatch.delenv("GENMOD_THREADS", raising=False)
    assert genmod.config.get_threads() == 1
    monkeypatch.setenv("GENMOD_THREADS", " 2 ")
    assert genmod.config.get_threads() == 2
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv("GENMOD_THREADS", bad)
        with pytest.raises(ValueError, match="GENMOD_THREADS"):
            genmod.config.get_threads()


def test_config_subset():
    config = genmod.Config(lr=0.1, batch_size=64, num_steps=10, use_checkpoint=True)
    long = config.subset("lr", "batch_size", num_steps=1000)
    assert long.as_dict() == {"lr": 0.1, "batch_size": 64, "num_steps": 1000}
    assert config.num_steps == 10                      # the original is unchanged
    assert config.subset("lr", lr=0.2).lr == 0.2        # a change may replace a kept setting
    with pytest.raises(AttributeError, match="num_epochs"):
        config.subset("num_epochs")
    with pytest.raises(TypeError):
        config.subset("lr", model=object())


def test_save_artifacts_rejects_bad_input(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMOD_ARTIFACTS", str(tmp_path))
    config = genmod.Config(lr=0.1)
    kw = dict(kind="images", value_range=(0, 1), config=config, device="cpu")
    with pytest.raises(ValueError, match="non-empty"):
        genmod.save_artifacts("x", np.zeros((0, 28, 28)), {}, **kw)
    with pytest.raises(ValueError, match="notebook name"):
        genmod.save_artifacts("../escape", np.zeros((2, 28, 28)), {}, **kw)
    with pytest.raises(ValueError, match="shape"):
        genmod.save_artifacts("x", np.zeros((2, 3, 4, 5)), {}, **kw)


# ---------------------------------------------------------------------------
# Relative paths in GENMOD_MNIST, GENMOD_DATA, GENMOD_ARTIFACTS mean the same file
# wherever a notebook runs: they are resolved against the repository root.
# ---------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_relative_mnist_path_works_from_a_notebook_folder(mnist_file, tmp_path):
    """The README's `export GENMOD_MNIST=../shared/...` typed at the root, read by a process
    running in book/gans."""
    relative = os.path.relpath(mnist_file, ROOT)           # e.g. ../shared/data/mnist-offline.npz
    env = {**os.environ, "GENMOD_MNIST": relative, "GENMOD_ARTIFACTS": "_build/test-artifacts-rel"}
    code = ("import genmod, genmod.artifacts; (x, y), _ = genmod.load_mnist(); "
            "print(genmod.artifacts.artifacts_dir())")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "book" / "gans", env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "8,000 training" in run.stdout
    scale = genmod.get_scale()
    expected = ROOT / "_build" / "test-artifacts-rel" / scale
    assert run.stdout.strip().splitlines()[-1] == str(expected)


def test_missing_relative_path_names_the_absolute_path_tried(monkeypatch):
    from genmod.data import MnistUnavailableError, load_mnist

    monkeypatch.chdir(ROOT / "book" / "vae")
    monkeypatch.setenv("GENMOD_MNIST", "no/such/mnist.npz")
    with pytest.raises(MnistUnavailableError) as err:
        load_mnist(verbose=False)
    text = str(err.value)
    assert str(ROOT / "no" / "such" / "mnist.npz") in text
    assert "repository root" in text and str(ROOT / "book" / "vae") in text


def test_relative_path_outside_a_checkout_is_taken_from_the_working_directory(monkeypatch,
                                                                               tmp_path):
    from genmod.config import env_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENMOD_DATA", "cache")
    assert env_path("GENMOD_DATA") == (tmp_path / "cache").resolve()
    monkeypatch.setenv("GENMOD_DATA", "~/x")
    assert env_path("GENMOD_DATA") == (Path.home() / "x").resolve()
    monkeypatch.delenv("GENMOD_DATA")
    assert env_path("GENMOD_DATA") is None


# ---------------------------------------------------------------------------
# genmod.Config
# ---------------------------------------------------------------------------

def test_config_holds_settings_and_refuses_changes_and_typos():
    config = genmod.Config(num_epochs=3, sizes=(2, 4), mode="normal", limit=None)
    assert config.num_epochs == 3 and config.sizes == (2, 4)
    assert config.as_dict() == {"num_epochs": 3, "sizes": [2, 4], "mode": "normal", "limit": None}
    with pytest.raises(TypeError, match="cannot be changed"):
        config.num_epochs = 4
    with pytest.raises(AttributeError, match=r"no setting 'num_epoch'.*num_epochs"):
        config.num_epoch
    with pytest.raises(TypeError, match="numbers, strings"):
        genmod.Config(optimizer=object())
