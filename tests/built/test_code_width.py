"""Notebook code fits the page: a code cell's input shows whole lines, without a scroll bar.

Notebook code cells hold 80 characters a line (ruff, book/ruff.toml), and the site sets
their code a little smaller (_static/code.css) so that 80 characters fit the article
column at the test browser's 1280-pixel window. Every notebook page is opened and every
code cell's input is measured: its content must be no wider than its box.
"""

from __future__ import annotations

import pytest

from built_site import ROOT

NOTEBOOKS = sorted(p.relative_to(ROOT).with_suffix("").as_posix()
                   for p in ROOT.glob("book/*/*.ipynb"))

PROBE = r"""
(() => {
  const cells = [...document.querySelectorAll("div.cell_input pre")];
  const wide = cells.filter((pre) => pre.scrollWidth > pre.clientWidth + 1);
  const longest = (pre) => pre.textContent.split("\n").reduce(
      (a, b) => (b.length > a.length ? b : a), "");
  return {cells: cells.length, wide: wide.map((pre) => longest(pre).slice(0, 100)),
          charWidth: (() => {
            const probe = document.createElement("span");
            probe.textContent = "0".repeat(80);
            if (!cells.length) return null;
            cells[0].appendChild(probe);
            const w = probe.getBoundingClientRect().width;
            probe.remove();
            return {eighty: w, box: cells[0].clientWidth};
          })()};
})()
"""


def test_every_notebook_page_is_checked():
    assert len(NOTEBOOKS) >= 21


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_code_cells_need_no_scroll_bar(page, site, browser):
    path = site / f"{page}.html"
    assert path.is_file(), f"{page}.html is missing from the build at {site}"
    browser.open(path.as_uri())
    r = browser.evaluate(PROBE)
    assert r["cells"] > 0, f"{page}: no code cells found"
    fit = r["charWidth"]
    assert fit["eighty"] <= fit["box"], (
        f"{page}: 80 characters of code are {fit['eighty']:.0f} px, the cell is {fit['box']} px")
    assert not r["wide"], f"{page}: code cells wider than the page (longest lines): {r['wide'][:3]}"
