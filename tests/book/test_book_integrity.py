"""Book integrity: the table of contents, paired and stripped notebooks, shared settings."""

import ast
import json
import re
from pathlib import Path

import jupytext
import pytest
import yaml
from notebook_code import notebook_config, notebook_constant

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def toc_files(node):
    """Every `file:` entry of the toc, depth first."""
    if isinstance(node, dict):
        if "file" in node:
            yield node["file"]
        if "root" in node:
            yield node["root"]
        for value in node.values():
            yield from toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from toc_files(item)


TOC_FILES = list(toc_files(TOC))


def test_toc_entries_are_unique():
    assert len(TOC_FILES) == len(set(TOC_FILES))


@pytest.mark.parametrize("entry", TOC_FILES)
def test_every_toc_page_exists(entry):
    candidates = [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")]
    assert any(p.is_file() for p in candidates), (
        f"_toc.yml lists {entry}, but neither .md nor .ipynb exists"
    )


def test_every_page_under_book_is_in_the_toc():
    pages = [
        p
        for p in BOOK.rglob("*")
        if p.suffix in (".md", ".ipynb") and ".ipynb_checkpoints" not in p.parts
    ]
    listed = set(TOC_FILES)
    missing = [
        str(p.relative_to(ROOT))
        for p in pages
        if str(p.relative_to(ROOT).with_suffix("")) not in listed
    ]
    assert not missing, f"pages not listed in _toc.yml: {missing}"


def _chapters():
    """chapter 'part/name' -> (part caption, the notebooks listed as its sections in the toc,
    in order).

    A chapter is a toc entry `book/<part>/<name>` with a markdown file: `theory` for most parts,
    and any further chapter of a part (`book/ebm/langevin`, `book/physics/ising`, ...).
    """
    chapters = {}
    for part in TOC["parts"]:
        for chapter in part.get("chapters", []):
            match = re.fullmatch(r"book/([a-z_]+)/([a-z_]+)", chapter["file"])
            if match and (ROOT / f"{chapter['file']}.md").is_file():
                sections = [s["file"].split("/")[-1] for s in chapter.get("sections", [])]
                chapters[f"{match.group(1)}/{match.group(2)}"] = (part["caption"], sections)
    return chapters


CHAPTERS = _chapters()


def _parts():
    """part folder -> (caption, every notebook of the part's chapters, in toc order)."""
    parts = {}
    for chapter, (caption, sections) in CHAPTERS.items():
        part = chapter.split("/")[0]
        parts.setdefault(part, (caption, []))[1].extend(sections)
    return parts


PARTS = _parts()


def notebooks_label(chapter):
    """The label of a chapter's closing list of notebooks: `<part>-notebooks` for `theory`,
    `<part>-<name>-notebooks` for another chapter of the part."""
    part, name = chapter.split("/")
    return f"{part}-notebooks" if name == "theory" else f"{part}-{name.replace('_', '-')}-notebooks"


def test_every_notebook_is_a_section_of_its_parts_chapter():
    """The notebooks on disk are exactly the toc's sections under their part's chapters."""
    on_disk = {(p.parent.name, p.stem) for p in NOTEBOOKS}
    in_toc = {(part, nb) for part, (_, nbs) in PARTS.items() for nb in nbs}
    assert on_disk == in_toc, (
        f"on disk, not in the toc: {on_disk - in_toc}; in the toc, not on disk: {in_toc - on_disk}"
    )
    assert PARTS and all(nbs for _, nbs in PARTS.values()), (
        "every written part has at least one notebook"
    )


def test_readme_lists_the_chapters_and_notebooks_of_the_toc():
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (.+?) \| `book/([a-z_]+/[a-z_]+)\.md` \| (.+?) \|$", readme, re.M)
    table = {
        chapter: (caption, re.findall(r"`([a-z0-9_]+)`", cell)) for caption, chapter, cell in rows
    }
    assert table == CHAPTERS, (
        "README.md's table of parts must list the toc's chapters, their parts' captions and"
        " notebooks in order"
    )


def test_intro_names_every_written_chapter():
    intro = (BOOK / "intro.md").read_text()
    for chapter in CHAPTERS:
        assert f"<{chapter}>`" in intro, (
            f"book/intro.md does not link the written chapter {chapter}"
        )


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_chapter_lists_its_notebooks(chapter):
    """Each chapter's section `(<label>)=` (see notebooks_label) lists exactly its notebooks, in
    toc order."""
    label = notebooks_label(chapter)
    text = (BOOK / f"{chapter}.md").read_text()
    match = re.search(rf"^\({label}\)=\n## [^\n]+\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"book/{chapter}.md has no section labelled ({label})="
    listed = re.findall(r"^- \{doc\}`([a-z0-9_]+)`", match.group(1), re.M)
    assert listed == CHAPTERS[chapter][1]


LABEL_DEF = re.compile(
    r"(?::label:|:name:)\s*([A-Za-z0-9_-]+)|^\s*(?:# )?\(([A-Za-z0-9_-]+)\)=", re.M
)
PAGES = sorted(
    p
    for p in BOOK.rglob("*")
    if p.suffix in (".md", ".py")
    and p.parent != BOOK / "gans" / "figures"
    and ".ipynb_checkpoints" not in p.parts
)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(BOOK)))
def test_labels_follow_the_grammar(page):
    """Labels are `<part>-<name>`; exercises `<part>-ex-<name>` in a chapter,
    `<part>-ex-<notebook>-<name>` in a notebook."""
    part = page.parent.name if page.parent != BOOK else "book"
    notebook = page.stem.replace("_", "-")
    bad = []
    for match in LABEL_DEF.finditer(page.read_text()):
        label = match.group(1) or match.group(2)
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", label) or not label.startswith(f"{part}-"):
            bad.append(label)
        elif (
            label.startswith(f"{part}-ex-")
            and page.suffix == ".py"
            and not label.startswith(f"{part}-ex-{notebook}-")
        ):
            bad.append(label)
        elif page.suffix == ".md" and f"{part}/{page.stem}" in CHAPTERS:
            others = [nb.replace("_", "-") for nb in PARTS.get(part, ("", []))[1]]
            if any(label.startswith(f"{part}-ex-{nb}-") for nb in others):
                bad.append(label)
    assert not bad, (
        f"{page.relative_to(ROOT)}: labels {bad} break the grammar (see CONTRIBUTING.md)"
    )


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_paired_and_in_sync(path):
    py = path.with_suffix(".py")
    assert py.is_file(), (
        f"{path.name} has no paired {py.name}: run `jupytext --set-formats ipynb,py:percent {path}`"
    )
    assert py.read_text().lstrip().startswith("# ---") and "format_name: percent" in py.read_text()
    nb_ipynb = jupytext.read(path)
    nb_py = jupytext.read(py)
    assert _cells(nb_ipynb) == _cells(nb_py), (
        f"{path.name} and {py.name} differ: run `jupytext --sync {path}`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert not any(c.get("outputs") for c in code), f"{path.name} has stored outputs: strip them"
    assert not any(c.get("execution_count") for c in code), (
        f"{path.name} has execution counts: strip them"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_uses_the_configured_repository(path):
    url = CONFIG["repository"]["url"].rstrip("/")
    source = path.with_suffix(".py").read_text()
    found = re.findall(r'REPO_URL\s*=\s*"([^"]+)"', source)
    assert found == [url], (
        f"{path.name}: REPO_URL {found} differs from _config.yml repository.url {url!r}"
    )
    assert 'importlib.util.find_spec("genmod")' in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_framework_per_notebook(path):
    """At most one of PyTorch and TensorFlow, named by the suffix; no suffix for a numpy-only
    notebook."""
    source = path.with_suffix(".py").read_text()
    uses_torch = bool(re.search(r"^\s*(import torch|from torch)", source, re.M))
    uses_tf = bool(
        re.search(r"^\s*(import tensorflow|from tensorflow|import keras|from keras)", source, re.M)
    )
    assert not (uses_torch and uses_tf), f"{path.name} must not use both PyTorch and TensorFlow"
    if not (
        uses_torch or uses_tf
    ):  # a framework-free notebook (numpy only), e.g. physics/ising_data
        assert not path.stem.endswith(("_torch", "_tf")), (
            f"{path.name} uses no framework: drop the _torch/_tf suffix"
        )
        return
    assert path.stem.endswith("_torch" if uses_torch else "_tf"), (
        f"{path.name}: name it *_torch or *_tf"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_no_environment(path):
    source = path.with_suffix(".py").read_text()
    assert "os.environ" not in source and "getenv" not in source, (
        f"{path.name}: only genmod reads the environment"
    )
    assert "%cd" not in source and "sys.path" not in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_names_itself_once(path):
    """The NOTEBOOK constant of the setup cell is the file's name (a copied notebook must be
    renamed)."""
    relpath = str(path.with_suffix(".py").relative_to(ROOT))
    assert notebook_constant(relpath, "NOTEBOOK") == path.stem
    source = path.with_suffix(".py").read_text()
    assert f'"{path.stem}"' not in source.replace(f'NOTEBOOK = "{path.stem}"', ""), (
        f"{path.name}: use NOTEBOOK instead of repeating the name as a string"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_configuration_is_one_config_built_at_every_scale(path):
    """Every scale-dependent number sits in the one `config = genmod.Config(...)` cell, and it
    builds at every scale."""
    relpath = str(path.with_suffix(".py").relative_to(ROOT))
    source = path.with_suffix(".py").read_text()
    tree = ast.parse(source)
    configs = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        and len(n.targets) == 1
        and isinstance(n.targets[0], ast.Name)
        and n.targets[0].id == "config"
    ]
    assert len(configs) == 1, (
        f"{path.name}: build the configuration once, `config = genmod.Config(...)`"
    )
    inside = {id(n) for n in ast.walk(configs[0].value)}
    stray = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and n.func.id == "pick"
        and id(n) not in inside
    ]
    assert not stray, f"{path.name}: pick(...) outside the configuration cell, lines {stray}"
    built = {
        scale: notebook_config(relpath, scale=scale).as_dict()
        for scale in ("quick", "book", "full")
    }
    assert set(built["quick"]) == set(built["book"]) == set(built["full"])
    assert built["quick"] != built["book"], (
        f"{path.name}: the quick scale must differ from the book scale"
    )


def test_mathjax_macros_are_documented_in_notation():
    macros = CONFIG["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    notation = (BOOK / "notation.md").read_text()
    undocumented = [m for m in macros if f"`\\{m}" not in notation]
    assert not undocumented, f"macros missing from book/notation.md: {undocumented}"


def test_cited_keys_exist_in_the_bibliography():
    bib = (BOOK / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", bib))
    cited = set()
    for page in list(BOOK.rglob("*.md")) + list(BOOK.rglob("*.py")):
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", page.read_text()):
            cited.update(k.strip() for k in group.split(","))
    assert cited, "no citations found"
    assert not cited - keys, f"cited but not in book/references.bib: {sorted(cited - keys)}"


def test_execution_settings():
    execute = CONFIG["execute"]
    assert execute["execute_notebooks"] == "cache"
    assert execute["allow_errors"] is False
    assert execute["timeout"] >= 300
    assert CONFIG["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert CONFIG["only_build_toc_files"] is True


# ---------------------------------------------------------------------------
# The page opens with the lesson; cells teach one thing; the prose quotes the run.
# ---------------------------------------------------------------------------

#: The longest code cell a notebook may have (lines of source): a cell teaches one thing.
MAX_CELL_LINES = 40


def _code_cells(path):
    return [c for c in jupytext.read(path).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_is_folded_and_sets_no_threads(path):
    """The setup cell is tagged hide-input (its outputs, the scale, device and data source, stay
    visible), and no notebook sets threads: genmod's get_device/describe_device do
    (GENMOD_THREADS)."""
    setup = _code_cells(path)[0]
    assert "importlib.util.find_spec" in setup.source, (
        f"{path.name}: the first code cell is the setup"
    )
    assert "hide-input" in setup.metadata.get("tags", []), (
        f'{path.name}: tag the setup cell hide-input (`# %% tags=["hide-input"]` in the .py)'
    )
    source = path.with_suffix(".py").read_text()
    for call in (
        "set_num_threads",
        "set_intra_op_parallelism_threads",
        "set_inter_op_parallelism_threads",
    ):
        assert call not in source, f"{path.name}: {call} — the thread policy lives in genmod"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_teach_one_thing(path):
    long = [
        (i, len(c.source.splitlines()))
        for i, c in enumerate(_code_cells(path))
        if len(c.source.splitlines()) > MAX_CELL_LINES
    ]
    assert not long, (
        f"{path.name}: code cells over {MAX_CELL_LINES} lines (index, lines): {long}; "
        "split them where the lesson splits, or move machinery into genmod"
    )


SUMMARY = re.compile(r"^##\s+(?:Summary|Results)\b.*?(?=^##\s|\Z)", re.M | re.S)
GLUE_ROLE = re.compile(r"\{glue(?::[a-z]+)?\}`[^`]*`")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\{math\}`[^`]*`", re.S)
RESULT_NUMBER = re.compile(
    r"(?<![\w.])\d[\d,]*\.\d+|(?<![\w.])\d[\d,]*(?:\.\d+)?\s?%"
    r"|(?<![\w.])\d+ of \d+\b|distances? (?:of )?\d[\d,]*(?:\.\d+)?"
)


def summary_numbers_by_hand(markdown: str) -> list[str]:
    """Result figures in `## Summary` and `## Results` sections that no glue role supplies:
    decimal numbers, percentages, "N of M", "distance N".

    A sentence that compares with a reference run says so ("reference run") or cites a
    paper ({cite}); math and glue roles are exempt.
    """
    found = []
    for section in SUMMARY.findall(markdown):
        text = MATH.sub(" ", GLUE_ROLE.sub(" ", section))
        for sentence in re.split(r"(?<=[.;:!?])\s+(?=[A-Z(*])|\n\s*\n|\n[-*] ", text):
            if "reference run" in sentence or "{cite" in sentence:
                continue
            found += [m.group(0) for m in RESULT_NUMBER.finditer(sentence)]
    return found


def test_summary_check_catches_a_number_typed_by_hand():
    page = (
        "## Summary\n\nThe samples reach {glue:text}`classes` classes, Fréchet distance 150.5.\n"
        "A reference run reached 2.27 bits per dimension. With $\\beta = 0.5$ it mixes.\n"
        "## Exercises\n\n0.3 here is fine.\n"
    )
    assert summary_numbers_by_hand(page) == ["distance 150.5"]
    assert summary_numbers_by_hand("## Summary\n\nIt is 12 % better.\n") == ["12 %"]
    assert summary_numbers_by_hand("## Summary\n\nThey reach 9 of 10 classes.\n") == ["9 of 10"]
    assert summary_numbers_by_hand("## Results\n\nFréchet distance 150 here.\n") == ["distance 150"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_summary_states_the_numbers_of_the_run(path):
    """A result figure in a notebook's summary comes from the run (genmod.glue, {glue:text})."""
    markdown = "\n".join(c.source for c in jupytext.read(path).cells if c.cell_type == "markdown")
    by_hand = summary_numbers_by_hand(markdown)
    assert not by_hand, (
        f"{path.name}: the summary states {by_hand} by hand; glue them from the run "
        '(genmod.glue and {glue:text}), or say "reference run" where a sentence '
        "quotes another run"
    )
