"""The docs site: every tutorial notebook is a page with its figures, the migration page and the
glossary exist, docstrings' Sphinx roles became links (no raw ``:func:`` text anywhere), and
every cross-reference link lands on an anchor that exists.

The site checked is the one in ``$CUSTVALUE_DOCS_SITE`` when set (CI builds it once, after the test
run has executed the notebooks); otherwise these tests build it with ``mkdocs build --strict``.
The Sphinx-role conversion (docs/_ext/sphinx_roles.py) is also tested on a small package of its own.
"""

from __future__ import annotations

import html
import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RAW_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|obj|exc|const):(?:`|<code>|&#x60;|\\u0060)")
INTERNAL_LINK = re.compile(r'<a class="autorefs autorefs-internal"[^>]*href="([^"]*)"')


def load_extension():
    spec = importlib.util.spec_from_file_location("docs_sphinx_roles", ROOT / "docs" / "_ext" / "sphinx_roles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the Sphinx-role conversion, on a package made for the test ----------------------------------

PACKAGE = {
    "__init__.py": '''
        """The package: :func:`clean` and the :class:`~pkg.base.Model` classes."""
        from pkg.steps import clean, undocumented_helper
        from pkg.base import Model
        __all__ = ["clean", "Model"]
    ''',
    "steps.py": '''
        """Steps."""
        __all__ = ["clean", "summarize"]

        def clean():
            """See :func:`summarize`, :func:`pkg.clean`, :mod:`pkg.steps`, :meth:`fit`, :func:`!summarize`,
            :func:`the summary <summarize>`, :func:`undocumented_helper` and :func:`pkg._hidden.secret`."""

        def summarize():
            """Calls :class:`Model`; see :func:`no_such_function`."""

        def undocumented_helper():
            """Not in ``__all__``."""
    ''',
    "base.py": '''
        """Models."""
        class Model:
            """A model; see :meth:`fit` and :attr:`Model.name`."""
            name = "model"
            def fit(self):
                """Fit; then :meth:`predict`."""
            def predict(self):
                """Predict."""

        class Special(Model):
            """A special model."""
            def fit(self):
                """Fit the special one."""
    ''',
    "_hidden.py": '''
        def secret():
            """Private."""
    ''',
}


@pytest.fixture(scope="module")
def converted() -> Iterator[dict[str, str]]:
    pytest.importorskip("griffe")
    import griffe

    roles = load_extension()
    with griffe.temporary_visited_package("pkg", PACKAGE, extensions=griffe.load_extensions(roles.SphinxRoles)) as pkg:
        yield {path: pkg[path.removeprefix("pkg.")].docstring.value if path != "pkg" else pkg.docstring.value
               for path in ("pkg", "pkg.steps.clean", "pkg.steps.summarize", "pkg.base.Model",
                            "pkg.base.Model.fit")}


def test_a_role_becomes_a_link_to_its_target_resolved_from_the_docstring_owner(converted):
    clean = converted["pkg.steps.clean"]
    assert "[`summarize()`][pkg.steps.summarize]" in clean                 # a name in the same module
    assert "[`pkg.clean()`][pkg.steps.clean]" in clean                     # the function, not the module
    assert "[`pkg.steps`][pkg.steps]" in clean                             # :mod: keeps the module
    assert "[`the summary`][pkg.steps.summarize]" in clean                 # explicit title
    assert "`summarize()`," in clean                                       # ! suppresses the link
    assert converted["pkg"].startswith("The package: [`clean()`][pkg.steps.clean] and the [`Model`][pkg.base.Model]")
    assert "[`Model`][pkg.base.Model]" in converted["pkg.steps.summarize"]  # through the module's import
    assert "[`predict()`][pkg.base.Model.predict]" in converted["pkg.base.Model.fit"]  # the enclosing class
    assert "[`Model.name`][pkg.base.Model.name]" in converted["pkg.base.Model"]


def test_an_overridden_method_resolves_to_the_base_class(converted):
    # From a module function, "fit" names Model.fit and Special.fit: the base class's one wins.
    assert "[`fit()`][pkg.base.Model.fit]" in converted["pkg.steps.clean"]


def test_a_target_outside_the_public_api_links_only_if_documented(converted):
    clean = converted["pkg.steps.clean"]
    assert '<autoref identifier="pkg.steps.undocumented_helper" optional>`undocumented_helper()`</autoref>' in clean
    assert '<autoref identifier="pkg._hidden.secret" optional>`pkg._hidden.secret()`</autoref>' in clean


def test_an_unresolvable_role_is_plain_code_and_a_warning(caplog):
    pytest.importorskip("griffe")
    import griffe

    roles = load_extension()
    with caplog.at_level(logging.WARNING), griffe.temporary_visited_package(
            "pkg", PACKAGE, extensions=griffe.load_extensions(roles.SphinxRoles)) as pkg:
        summarize = pkg["steps.summarize"].docstring.value
    assert summarize.endswith("see `no_such_function()`.")
    assert any("cannot resolve :func:`no_such_function`" in record.getMessage() for record in caplog.records)


def test_a_simple_table_becomes_a_markdown_table():
    table = "\n".join(["=====  ======", "name   rule", "=====  ======", "zero   amount is 0", "neg    amount < 0,",
                       "       a return", "=====  ======"])
    assert load_extension().rewrite_simple_tables(table) == "\n".join(
        ["| name | rule |", "|---|---|", "| zero | amount is 0 |", "| neg | amount < 0, a return |"])


# -- the built site --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("CUSTVALUE_DOCS_SITE")
    if given:
        return Path(given)
    pytest.importorskip("mkdocs_jupyter", reason="the docs tools are in the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("mkdocstrings_handlers.python")
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                           cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stderr[-5000:]}"
    return out


def pages(site: Path) -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in site.rglob("*.html")}


def image_outputs(notebook: Path) -> int:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum(any(kind in output.get("data", {}) for kind in ("image/png", "image/jpeg", "image/svg+xml"))
               for cell in cells if cell["cell_type"] == "code" for output in cell.get("outputs", []))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_every_notebook_is_a_page_with_its_figures(site, notebook):
    page = site / "tutorials" / notebook.stem / "index.html"
    assert page.exists(), f"no page for {notebook.name}"
    text = page.read_text(encoding="utf-8")
    first_cell = json.loads(notebook.read_text(encoding="utf-8"))["cells"][0]["source"]
    first_heading = "".join(first_cell).splitlines()[0].lstrip("# ").strip()
    assert html.escape(first_heading, quote=False) in text
    images = re.findall(r'<img [^>]*src="([^"]+)"', text)
    shown = [src for src in images if src.startswith("data:image/") or (page.parent / src).exists()]
    assert len(shown) == image_outputs(notebook)
    home = (site / "index.html").read_text(encoding="utf-8")
    assert f'href="tutorials/{notebook.stem}/"' in home, f"{notebook.name} is not in the navigation"


def test_the_tutorials_show_their_plots(site):
    # The quickstart and the model-choice notebooks draw plots (four in all when this was written).
    assert sum(image_outputs(nb) for nb in NOTEBOOKS) >= 4


def test_migration_page_and_glossary(site):
    migration = (site / "migration" / "index.html").read_text(encoding="utf-8")
    for peer_name in ("summary_data_from_transaction_data", "conditional_probability_alive", "BetaGeoModel",
                      "expected_purchase_probability", "continuous.discount.factor", "bgcnbd"):
        assert peer_name in migration
    glossary = (site / "glossary" / "index.html").read_text(encoding="utf-8")
    terms = re.findall(r'<h2 id="[^"]+">([^<]+)<', glossary)
    for term in ("Purchase occasion", "RFM", "P(alive)", "DERT", "DERL", "CLV", "Expected spend", "ROMI",
                 "Calibration and holdout", "Cohort", "Penalizer"):
        assert term in terms
    assert glossary.count('class="arithmatex"') >= 13  # a formula per term


def test_no_raw_sphinx_role_anywhere(site):
    found = {path.relative_to(site).as_posix(): len(RAW_ROLE.findall(text)) for path, text in pages(site).items()}
    search_index = site / "search" / "search_index.json"
    if search_index.exists():
        found["search/search_index.json"] = len(RAW_ROLE.findall(search_index.read_text(encoding="utf-8")))
    assert {page: n for page, n in found.items() if n} == {}


def test_cross_references_are_links_that_land(site):
    rendered = pages(site)
    ids = {path: set(re.findall(r'id="([^"]+)"', text)) for path, text in rendered.items()}
    links = 0
    for path, text in rendered.items():
        for href in INTERNAL_LINK.findall(text):
            links += 1
            target, _, anchor = html.unescape(href).partition("#")
            target_page = (path.parent / target).resolve() if target else path
            if target_page.is_dir() or not target_page.suffix:
                target_page = target_page / "index.html"
            where = path.relative_to(site)
            assert target_page in ids, f"{where} links to a missing page {href}"
            assert not anchor or anchor in ids[target_page], f"{where} links to a missing anchor {href}"
    # The API pages alone render about a hundred roles from the docstrings.
    assert links >= 100
