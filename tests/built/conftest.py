"""Tests of build outputs: the rendered site, and what the notebook run wrote.

These tests need a build, so `pytest tests` (`make unit`) leaves this folder out: it is
collected only when it, or a file in it, is named on the command line, as `make test`
does after building the site:

    make site-quick      # strict build of the whole site, notebooks not executed
    make built-tests     # GENMOD_SITE=_build/check/_build/html pytest tests/built

GENMOD_SITE names the html folder of the build to test (the folder with index.html);
without it the tests use the `make site-quick` build. A missing build fails the tests
and says how to make it; so does a missing Chromium (see built_site.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # built_site.py (pytest's importlib mode)

import pytest

from built_site import HERE, INSTALL_HINT, Chromium, find_chromium, site_dir


def _requested(config) -> bool:
    """Whether tests/built, or something in it, was named on the command line."""
    for arg in config.args:
        path = Path(arg.split("::")[0])
        if not path.is_absolute():
            path = Path(config.invocation_params.dir) / path
        try:
            path.resolve().relative_to(HERE)
        except ValueError:
            continue
        return True
    return False


def pytest_ignore_collect(collection_path, config):
    """Leave tests/built out of `pytest tests`: only an explicit `pytest tests/built` runs it."""
    if not _requested(config):
        return True
    return None


@pytest.fixture(scope="session")
def site() -> Path:
    """The html folder of the built site (GENMOD_SITE, default _build/check/_build/html)."""
    path = site_dir()
    if not (path / "index.html").is_file():
        pytest.fail(
            f"no built site at {path} (no index.html): run `make site-quick` first, "
            "or set GENMOD_SITE to the html folder of a build",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def screenshots(site: Path) -> Path:
    """Where the tests save screenshots: screenshots/ beside the html folder."""
    path = site.parent / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    """One headless, offline Chromium for the session; the test fails when there is none."""
    executable = find_chromium()
    if executable is None:
        pytest.fail(f"these tests need a headless Chromium and found none on PATH: {INSTALL_HINT}",
                    pytrace=False)
    chromium = Chromium(executable)
    try:
        yield chromium
    finally:
        chromium.close()
