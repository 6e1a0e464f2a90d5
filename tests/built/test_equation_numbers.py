"""Equations are numbered within chapters, and every reference shows the equation's number.

The numbered parts of _toc.yml (`numbered: true`) number their chapters 1, 2, 3, ... in
reading order; Sphinx then numbers a chapter's equations (C.1), (C.2), ... through the
chapter and its notebooks (numfig with numfig_secnum_depth 1). A reference {eq}`label`,
in a chapter or in a notebook, must show the number printed beside the equation.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup

from built_site import ROOT

TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


def numbered_chapters() -> list[list[str]]:
    """For each chapter of a numbered part: its page and its sections' pages, in toc order."""

    def pages(entry):
        yield entry["file"]
        for section in entry.get("sections", []):
            yield from pages(section)

    return [list(pages(ch)) for part in TOC["parts"] if part.get("numbered")
            for ch in part["chapters"]]


def soup(site: Path, page: str) -> BeautifulSoup:
    path = site / f"{page}.html"
    assert path.is_file(), f"{page}.html is missing from the build at {site}"
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def eqno(element) -> str:
    """The number printed beside an equation, e.g. '(3.1)', without the link sign."""
    number = element.find("span", class_="eqno")
    return number.find(string=True, recursive=False).strip() if number else ""


def test_chapters_are_numbered_in_reading_order(site):
    chapters = numbered_chapters()
    assert chapters, "no part of _toc.yml has `numbered: true`"
    for position, pages in enumerate(chapters, start=1):
        title = soup(site, pages[0]).select_one("h1 > span.section-number")
        assert title is not None and title.text.strip() == f"{position}.", (
            f"{pages[0]}: chapter number {title.text if title else None!r}, expected {position}."
        )


@pytest.mark.parametrize("pages", numbered_chapters(), ids=lambda pages: pages[0])
def test_equations_are_numbered_within_the_chapter(site, pages):
    title = soup(site, pages[0]).select_one("h1 > span.section-number")
    assert title is not None, f"{pages[0]}: the chapter has no number"
    chapter = title.text.strip(" .")
    numbers = [
        eqno(div) for page in pages for div in soup(site, page).select("div.math[id^=equation-]")
    ]
    assert numbers, f"{pages[0]}: no numbered equations"
    expected = [f"({chapter}.{k})" for k in range(1, len(numbers) + 1)]
    assert numbers == expected, f"{pages[0]}: equation numbers {numbers}, expected {expected}"


def test_references_show_the_numbers_of_their_equations(site):
    numbers: dict[tuple[str, str], str] = {}
    references: list[tuple[str, str, str]] = []
    for path in sorted(site.rglob("*.html")):
        if path.relative_to(site).parts[0].startswith("_"):
            continue
        page = soup(site, path.relative_to(site).with_suffix("").as_posix())
        for div in page.select("div.math[id^=equation-]"):
            numbers[(path.resolve().as_posix(), div["id"])] = eqno(div)
        for link in page.select('a.reference.internal[href*="#equation-"]'):
            href = urlsplit(link["href"])
            target = (path.parent / href.path).resolve() if href.path else path.resolve()
            references.append((path.relative_to(site).as_posix(),
                               (target.as_posix(), href.fragment), link.text.strip()))

    from_notebooks = [r for r in references if not r[0].endswith(("theory.html", "notation.html"))]
    assert from_notebooks, "no notebook page refers to an equation of a chapter"
    wrong = [
        f"{page}: {text} for {target[1]} (numbered {numbers.get(target)})"
        for page, target, text in references
        if numbers.get(target) != text or not re.fullmatch(r"\(\d+\.\d+\)", text)
    ]
    assert not wrong, f"{len(wrong)} of {len(references)} references are wrong: {wrong[:5]}"


def test_screenshot_of_a_reference_in_a_notebook(site, browser, screenshots):
    """Saves a notebook paragraph that refers to the chapter's equations, to look at by eye."""
    browser.open((site / "book/gans/gan_1d_torch.html").as_uri())
    found = browser.evaluate(
        """(() => {
          const a = document.querySelector('a.reference.internal[href*="#equation-"]');
          if (!a) return null;
          a.scrollIntoView({block: "center"});
          return a.textContent;
        })()"""
    )
    assert found and re.fullmatch(r"\(\d+\.\d+\)", found), found
    browser.evaluate("MathJax.startup.promise.then(() => document.fonts.ready).then(() => true)")
    path = browser.screenshot(screenshots / "gan_1d_torch-reference.png")
    assert path.stat().st_size > 10_000, f"{path} looks empty"
