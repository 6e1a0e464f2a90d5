"""The math of the built site renders in a browser without network.

Each page with math is opened in a headless Chromium that can reach no network (see
conftest.py), and MathJax must load from the build itself, typeset every formula with the
book's macros (_config.yml, sphinx.config.mathjax3_config), and leave no raw TeX in the
text a reader sees.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from built_site import ROOT, site_dir

# Pages that must have typeset math; every other page with math is checked too.
REQUIRED = ["book/notation", "book/autoencoders/theory", "book/ebm/theory", "book/ebm/langevin",
            "book/vae/theory", "book/diffusion/theory", "book/gans/theory", "book/physics/ising"]

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
MACROS = CONFIG["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]

# Waits for MathJax's first typeset (at most 30 s) and the fonts, then reports on the page.
PROBE = r"""
(async () => {
  const wait = (ms) => new Promise((r) => setTimeout(() => r(false), ms));
  const mj = window.MathJax;
  const script = [...document.scripts].map((s) => s.src).find((s) => /mathjax/i.test(s)) || null;
  if (!mj || !mj.startup || !mj.startup.promise) {
    return {loaded: false, script: script};
  }
  const typeset = await Promise.race([mj.startup.promise.then(() => true), wait(30000)]);
  await Promise.race([document.fonts.ready, wait(10000)]);
  const math = [...document.querySelectorAll("span.math, div.math")];
  const show = (e) => e.textContent.trim().slice(0, 120);
  // The visible text, and the visible text outside code (where a macro name may be shown).
  const text = document.body.innerText;
  const code = [...document.querySelectorAll("pre, code, kbd, samp")];
  const display = code.map((e) => e.style.display);
  code.forEach((e) => { e.style.display = "none"; });
  const prose = document.body.innerText;
  code.forEach((e, i) => { e.style.display = display[i]; });
  return {
    loaded: true,
    typeset: typeset,
    version: mj.version,
    script: script,
    macros: Object.keys(((mj.config || {}).tex || {}).macros || {}),
    math: math.length,
    containers: document.querySelectorAll("mjx-container").length,
    untypeset: math.filter((e) => !e.querySelector("mjx-container")).map(show),
    errors: [...document.querySelectorAll("mjx-merror")].map(
      (e) => e.getAttribute("data-mjx-error") || show(e)),
    undefined: [...document.querySelectorAll('mjx-assistive-mml [mathcolor="red"]')].map(show),
    text: text,
    prose: prose,
  };
})()
"""

# Raw TeX that a reader must never see: math delimiters and environments anywhere in the
# visible text, and the book's macros outside code (book/notation shows their names as code).
DELIMITERS = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\\end\{")
MACRO_NAMES = re.compile(r"\\(" + "|".join(map(re.escape, MACROS)) + r")(?![A-Za-z])")


def pages_with_math() -> list[str]:
    site = site_dir()
    found = sorted(
        path.relative_to(site).with_suffix("").as_posix()
        for path in site.rglob("*.html")
        if not path.relative_to(site).parts[0].startswith("_")
        and re.search(r'class="math notranslate', path.read_text(encoding="utf-8"))
    )
    return sorted(set(found) | set(REQUIRED))


@pytest.fixture(scope="module")
def rendered(site, browser):
    """Open each page once; page name -> what PROBE found, and the requests it made."""
    cache: dict[str, dict] = {}

    def render(page: str) -> dict:
        if page not in cache:
            path = site / f"{page}.html"
            assert path.is_file(), f"{page}.html is missing from the build at {site}"
            browser.open(path.as_uri())
            result = browser.evaluate(PROBE)
            result["requests"] = browser.requests()
            cache[page] = result
        return cache[page]

    return render


@pytest.mark.parametrize("page", pages_with_math())
def test_math_is_typeset_offline(page, rendered):
    r = rendered(page)
    assert r["loaded"], (
        f"{page}: MathJax did not load (script {r['script']}); the browser has no network, "
        "so the site must ship MathJax (sphinx-mathjax-offline in _config.yml)"
    )
    assert not r["script"].startswith(("http:", "https:")), (
        f"{page}: MathJax comes from {r['script']}")
    assert r["version"].startswith("3."), f"{page}: MathJax {r['version']}, expected 3.x"
    assert r["typeset"], f"{page}: MathJax did not finish typesetting in 30 s"
    assert r["math"] > 0, f"{page}: no math on the page"
    assert r["containers"] >= r["math"], (
        f"{page}: {r['containers']} typeset of {r['math']} formulas")
    assert not r["untypeset"], f"{page}: formulas left as TeX: {r['untypeset'][:5]}"
    assert not r["errors"], f"{page}: MathJax errors: {r['errors'][:5]}"
    assert not r["undefined"], f"{page}: undefined macros (shown in red): {r['undefined'][:5]}"


@pytest.mark.parametrize("page", pages_with_math())
def test_no_raw_tex_in_visible_text(page, rendered):
    r = rendered(page)
    for pattern, text, where in [(DELIMITERS, r["text"], "text"),
                                 (MACRO_NAMES, r["prose"], "text outside code")]:
        hits = [text[max(m.start() - 40, 0) : m.end() + 40] for m in pattern.finditer(text)]
        assert not hits, f"{page}: raw TeX in the visible {where}: {hits[:3]}"


@pytest.mark.parametrize("page", pages_with_math())
def test_pages_ask_for_nothing_off_the_site(page, rendered):
    """Scripts, styles and fonts all come from the build: a page needs no network."""
    outside = [u for u in rendered(page)["requests"]
               if not u.startswith(("file:", "data:", "blob:"))]
    assert not outside, f"{page} asked for {outside[:5]}"


def test_macros_reach_mathjax(rendered):
    r = rendered("book/notation")
    missing = sorted(set(MACROS) - set(r["macros"]))
    assert not missing, f"macros of _config.yml missing from the page's MathJax config: {missing}"


def typeset(browser, tex: str) -> str:
    """The MathML that the page's MathJax makes of `tex`."""
    return browser.evaluate(f"MathJax.tex2mml({json.dumps(tex)})")


def test_every_macro_typesets(site, browser):
    """Each macro of _config.yml, with arguments where it takes some, gives MathML without
    errors."""
    browser.open((site / "book/notation.html").as_uri())
    assert browser.evaluate(PROBE)["typeset"]
    # The check itself: an undefined macro comes out in red, a TeX error as merror.
    assert 'mathcolor="red"' in typeset(browser, r"\nosuchmacro")
    assert "merror" in typeset(browser, r"\frac{1}")
    for name, definition in MACROS.items():
        nargs = definition[1] if isinstance(definition, list) else 0
        tex = "\\" + name + "".join("{%s}" % a for a in "pqrs"[:nargs])
        mml = typeset(browser, tex)
        assert "merror" not in mml and 'mathcolor="red"' not in mml, f"{tex}: {mml}"


def test_mathjax_is_served_by_the_site(site):
    for page in REQUIRED:
        html = (site / f"{page}.html").read_text(encoding="utf-8")
        src = re.search(r'<script[^>]*src="([^"?]*mathjax[^"?]*)[^"]*"', html)
        assert src, f"{page}: no MathJax script"
        assert not src.group(1).startswith(("http:", "https:", "//")), (
            f"{page}: MathJax from {src.group(1)}")
        assert (site / page).parent.joinpath(src.group(1)).resolve().is_file(), src.group(1)
    fonts_dir = site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    fonts = list(fonts_dir.glob("*.woff"))
    assert fonts, "MathJax's fonts are not in _static/mathjax"


def test_screenshot_of_the_gan_chapter(site, browser, screenshots):
    """Saves a screenshot of the GAN chapter's first equations, to look at by eye."""
    browser.open((site / "book/gans/theory.html").as_uri() + "#equation-gans-value-function")
    assert browser.evaluate(PROBE)["typeset"]
    path = browser.screenshot(screenshots / "gans-theory.png")
    assert path.stat().st_size > 10_000, f"{path} looks empty"
