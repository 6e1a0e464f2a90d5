"""The TensorFlow lane's PyTorch references (tests/tf/fixtures/*.npz): written once, then
checked by the PyTorch lane against a fresh computation from genmod, so that a fixture
cannot go stale. Each part's `test_*_tf_fixtures.py` computes its references and calls
these two functions; run that file as a script to write its fixtures afresh."""

from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parent / "tf" / "fixtures"


def write_fixture(path: Path, arrays: dict) -> None:
    """Write ``arrays`` to ``path`` (an .npz; the name is kept exactly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    print(f"wrote {path}")


def assert_fixture_is_fresh(path: Path, fresh: dict, *, rtol: float, atol, script: str) -> None:
    """The committed fixture at ``path`` holds exactly the arrays ``fresh`` of a new computation.

    Integer arrays must be equal; floating ones agree within ``rtol`` and ``atol`` (a number,
    or a dict from dtype to number). A missing fixture is an error that says how to write it
    (``python <script>``), never written here: the test must compare, not create.
    """
    assert path.is_file(), f"missing {path}: write it with `python {script}`"
    with np.load(path) as saved:
        assert sorted(saved.files) == sorted(fresh), "the fixture's arrays are not the references'"
        for key, value in fresh.items():
            value = np.asarray(value)
            assert saved[key].dtype == value.dtype, key
            if value.dtype.kind in "iub":
                np.testing.assert_array_equal(saved[key], value, err_msg=key)
                continue
            tol = atol[value.dtype.type] if isinstance(atol, dict) else atol
            np.testing.assert_allclose(saved[key], value, rtol=rtol, atol=tol, err_msg=key)
    assert all(np.isfinite(np.asarray(v)).all() for v in fresh.values())
