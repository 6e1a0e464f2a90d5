"""book/checks.md, the page "What the tests check", against the tests and the chapters it names.

The page must stay true as tests and chapters change: every test it names must exist,
every equation or exercise label it cites must exist in a chapter, and every labelled
equation and exercise of the chapters it covers must be listed on it (with a test, or
under "Not tested" with the reason).
"""

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "book" / "checks.md"
# every chapter of the book: book/<part>/<name>.md (theory.md, and a part's further chapters)
CHAPTERS = {
    f"{path.parent.name}/{path.stem}": path for path in sorted((ROOT / "book").glob("*/*.md"))
}
TEST_REF = re.compile(r"`(test_[a-z0-9_]+\.py)::(test_[A-Za-z0-9_]+)`")
CITED = re.compile(r"\{(eq|ref)\}`([a-z0-9-]+)`")


def _labels(path: Path):
    """Equation labels (:label: inside a {math} block) and exercise labels of a chapter."""
    text = path.read_text()
    equations = set(re.findall(r"```\{math\}\s*\n:label:\s*([a-z0-9-]+)", text))
    exercises = set(re.findall(r"```\{exercise\}\s*\n:label:\s*([a-z0-9-]+)", text))
    return equations, exercises


@functools.lru_cache(maxsize=None)
def _test_functions(path: Path) -> frozenset:
    tree = ast.parse(path.read_text())
    return frozenset(
        n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
    )


def test_every_named_test_exists():
    refs = TEST_REF.findall(PAGE.read_text())
    assert len(refs) > 50, "the page should name the tests"
    missing = []
    for filename, name in refs:
        paths = sorted((ROOT / "tests").rglob(filename))
        assert len(paths) <= 1, f"{filename} names {len(paths)} files under tests/: {paths}"
        path = paths[0] if paths else ROOT / "tests" / filename
        if not path.is_file() or name not in _test_functions(path):
            missing.append(f"{filename}::{name}")
    assert not missing, f"book/checks.md names tests that do not exist: {missing}"


def test_every_cited_label_exists_with_the_right_role():
    equations, exercises = set(), set()
    for path in CHAPTERS.values():
        eq, ex = _labels(path)
        equations |= eq
        exercises |= ex
    bad = [
        f"{{{role}}}`{label}`"
        for role, label in CITED.findall(PAGE.read_text())
        if label not in (equations if role == "eq" else exercises)
    ]
    assert not bad, (
        f"book/checks.md cites labels that are not equations/exercises of the chapters: {bad}"
    )


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_every_labelled_equation_and_exercise_is_listed(chapter):
    equations, exercises = _labels(CHAPTERS[chapter])
    assert equations, f"no labelled equations found in {CHAPTERS[chapter]}"
    cited = set(CITED.findall(PAGE.read_text()))
    missing = sorted({("eq", e) for e in equations} - cited) + sorted(
        {("ref", x) for x in exercises} - cited
    )
    assert not missing, f"book/checks.md does not list these labels of book/{chapter}.md: {missing}"


# The physics notebooks' results are claims about physics: each figure their summary
# states (a glued value, {glue:text}`key`) is on the page as `<notebook>:<key>`, with the
# test that checks it or "no test" and the reason.
PHYSICS_NOTEBOOKS = sorted((ROOT / "book" / "physics").glob("*.py"))
SUMMARY = re.compile(r"^# ##\s+(?:Summary|Results)\b.*?(?=^# ##\s|\Z)", re.M | re.S)
GLUE_KEY = re.compile(r"\{glue(?::[a-z]+)?\}`([a-z0-9_]+)(?::[^`]*)?`")


def summary_glue_keys(source: str) -> list[str]:
    """The glue keys that a notebook's `## Summary` or `## Results` section quotes."""
    return sorted({key for section in SUMMARY.findall(source) for key in GLUE_KEY.findall(section)})


def test_summary_glue_keys_are_found():
    source = (
        "# ## Summary\n# reaches {glue:text}`rel_err:.1%` and {glue}`c_peak`.\n# ## Exercises\n"
        "# {glue:text}`other`\n"
    )
    assert summary_glue_keys(source) == ["c_peak", "rel_err"]


@pytest.mark.parametrize("notebook", PHYSICS_NOTEBOOKS, ids=lambda p: p.stem)
def test_every_physics_result_is_listed(notebook):
    page = PAGE.read_text()
    missing = [
        f"{notebook.stem}:{key}"
        for key in summary_glue_keys(notebook.read_text())
        if f"`{notebook.stem}:{key}`" not in page
    ]
    assert not missing, (
        f"book/checks.md does not list these results of {notebook.stem}'s summary: "
        f"{missing}; add each as `<notebook>:<key>` with its test, or 'no test' and why"
    )
