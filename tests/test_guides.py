"""The user guide stays complete and current.

Each guide page documents the functions of one step. The tests read the pages as text:

- every parameter of those functions has a row in one of the page's parameter tables (a table
  whose first header is "parameter"), and every row names a parameter that exists (segment's
  options per method, and the lifecycle thresholds, included);
- every example in those tables names its parameter and runs, in the namespace the page's own
  doctests build (the doctests themselves, outputs included, run through ``--doctest-glob``);
- each page opens with the question it answers, has its pitfalls, stays readable (80 to 250 lines),
  keeps its code within 88 columns, and its links to a section land on a heading;
- the figures of ``docs/make_figures.py``, drawn again into a temporary folder, match the
  committed ones in ``docs/img``, and every picture a page shows is one of them.
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import importlib.util
import inspect
import io
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import custvalue as cv

# The modules, not the functions of the same names that the package exports.
segment_module = importlib.import_module("custvalue.segment")
plotting = importlib.import_module("custvalue.plotting")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDE = DOCS / "guide"

# Each page and the functions whose every parameter it documents.
PAGES: dict[str, list[Callable[..., Any]]] = {
    "clean.md": [cv.clean],
    "summarize.md": [cv.summarize, cv.calibration_holdout],
    "score.md": [cv.score, cv.fitted_models, cv.read_csv],
    "segment.md": [cv.segment, cv.segment_summary],
    "filter.md": [cv.filter_customers],
    "uplift.md": [cv.uplift, cv.uplift_summary, cv.measure_uplift, cv.simulate_campaign],
    "kpis.md": [cv.kpis, cv.cohort_retention],
    "plots.md": [getattr(plotting, name) for name in plotting.__all__],
    "evaluation.md": [cv.evaluate, cv.compare_models, cv.tracking, cv.alive_path],
}
CODE_SPAN = re.compile(r"`([^`]+)`")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")
LINK = re.compile(r"\]\(([\w./-]*\.md)?#([\w-]+)\)")
MAX_COLUMNS = 88


def segment_options() -> set[str]:
    """The options of every segment method (``segment(frame, method, **options)``)."""
    options = set()
    for method in segment_module.METHODS:
        maker = getattr(segment_module, f"_{method}")
        options |= {name for name in inspect.signature(maker).parameters if name != "frame"}
    return options


def parameters(function: Callable[..., Any]) -> set[str]:
    """The names a caller can pass; ``**options`` of segment stands for each method's options."""
    names = set()
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD and function is cv.segment:
            names |= segment_options()
        else:
            names.add(name)
    return names


def page_text(page: str) -> str:
    return (GUIDE / page).read_text(encoding="utf-8")


def table_rows(text: str, starts_table: Callable[[list[str]], bool]) -> Iterator[list[str]]:
    """The cells of each body row of the markdown tables whose header row ``starts_table`` accepts."""
    in_table = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if starts_table(cells):
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            yield cells


def parameter_rows(text: str) -> Iterator[tuple[list[str], str]]:
    """(parameter names, example cell) for each row of the page's parameter tables."""
    for cells in table_rows(text, lambda header: header[0] == "parameter"):
        yield CODE_SPAN.findall(cells[0]), cells[-1]


def example_cells(text: str) -> Iterator[str]:
    """The last cell of every row of the tables whose last column is "example" or "call"."""
    for cells in table_rows(text, lambda header: header[-1] in ("example", "call")):
        yield cells[-1]


def documented(page: str) -> set[str]:
    return {name.lstrip("*") for names, _ in parameter_rows(page_text(page)) for name in names}


@pytest.mark.parametrize("page", PAGES)
def test_every_parameter_has_a_row_and_every_row_a_parameter(page):
    expected = set().union(*(parameters(function) for function in PAGES[page]))
    rows = documented(page)
    assert not expected - rows, f"{page}: parameters without a row in a parameter table: {sorted(expected - rows)}"
    assert not rows - expected, f"{page}: rows for parameters that do not exist: {sorted(rows - expected)}"


def lifecycle_thresholds() -> list[str]:
    """The thresholds ``segment(method="lifecycle", thresholds=...)`` knows, as its error lists them."""
    frame = cv.datasets.load_cdnow_summary()
    with pytest.raises(cv.InvalidParameterError) as refused:
        cv.segment(frame, method="lifecycle", thresholds={"no_such_threshold": 1.0})
    return ast.literal_eval(re.search(r"known: (\[[^\]]*\])", str(refused.value)).group(1))


def test_the_segment_page_names_every_lifecycle_threshold():
    text = page_text("segment.md")
    assert not [name for name in lifecycle_thresholds() if f"`{name}`" not in text]


@pytest.mark.parametrize("page", PAGES)
def test_each_example_names_its_parameters(page):
    # The first argument (the frame or model a step works on) is passed by position, and **options
    # stands for keywords of another function.
    inputs = {next(iter(inspect.signature(function).parameters)) for function in PAGES[page]}
    for names, example in parameter_rows(page_text(page)):
        code = " ".join(CODE_SPAN.findall(example))
        for name in set(names) - inputs:
            if not name.startswith("**"):
                assert re.search(rf"\b{re.escape(name)}\b", code), f"{page}: the example of {name} is {example!r}"


def page_namespace(text: str) -> dict[str, Any]:
    """What the page's doctests define, by running them (their outputs are checked by --doctest-glob)."""
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for example in doctest.DocTestParser().get_examples(text):
            exec(compile(example.source, "<page>", "exec"), namespace)  # noqa: S102 - the page's own examples
    return namespace


@pytest.mark.parametrize("page", PAGES)
def test_the_examples_of_the_tables_run(page):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    text = page_text(page)
    namespace = page_namespace(text)
    try:
        for example in example_cells(text):
            for code in CODE_SPAN.findall(example):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        eval(compile(ast.parse(code, mode="eval"), "<table>", "eval"), dict(namespace))  # noqa: S307
                    except Exception as error:  # noqa: BLE001 - report which example failed
                        pytest.fail(f"{page}: the example {code!r} raised {type(error).__name__}: {error}")
    finally:
        plt.close("all")


@pytest.mark.parametrize("page", sorted(path.name for path in GUIDE.glob("*.md")))
def test_a_page_opens_with_its_question_and_lists_its_pitfalls(page):
    text = page_text(page)
    first_paragraph = text.split("\n\n")[1]
    assert re.match(r"\*\*[^*]+\?\*\*", first_paragraph), f"{page} should open with its question in bold"
    assert "\n## Pitfalls\n" in text, f"{page} has no Pitfalls section"
    assert 80 <= len(text.splitlines()) <= 250, f"{page} has {len(text.splitlines())} lines"
    assert page in PAGES, f"{page} is not listed in PAGES with the functions it documents"


@pytest.mark.parametrize("page", [*sorted(f"guide/{p.name}" for p in GUIDE.glob("*.md")), "index.md",
                                  "getting-started.md"])
def test_code_fits_in_88_columns(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    long = [line for block in FENCE.findall(text) for line in block.splitlines() if len(line) > MAX_COLUMNS]
    assert not long, f"{page}: code lines longer than {MAX_COLUMNS} columns: {long}"


def slug(heading: str) -> str:
    """The anchor Python-Markdown's toc extension gives a heading (its default slugify)."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower())


@pytest.mark.parametrize("page", [*sorted(f"guide/{p.name}" for p in GUIDE.glob("*.md")), "index.md",
                                  "getting-started.md"])
def test_links_to_a_section_land_on_a_heading(page):
    source = DOCS / page
    for target, anchor in LINK.findall(source.read_text(encoding="utf-8")):
        linked = (source.parent / target).resolve() if target else source
        headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), re.M)
        assert anchor in {slug(h) for h in headings}, f"{page} links to {target}#{anchor}, which has no such section"


def test_every_guide_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in GUIDE.glob("*.md"):
        assert f"guide/{page.name}" in nav, f"guide/{page.name} is not in the nav of mkdocs.yml"


# -- figures ---------------------------------------------------------------------------------------

def load_make_figures() -> Any:
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shown_images() -> set[str]:
    """The pictures of docs/img that a page of the site shows."""
    names = set()
    for page in DOCS.rglob("*.md"):
        for target in IMAGE.findall(page.read_text(encoding="utf-8")):
            if "img/" in target:
                names.add(target.rsplit("img/", 1)[1])
    return names


def test_every_picture_shown_is_drawn_by_make_figures_and_committed():
    pytest.importorskip("matplotlib")
    figures = set(load_make_figures().FIGURES)
    committed = {path.name for path in (DOCS / "img").glob("*.png")}
    assert shown_images() <= figures, f"pictures no code draws: {sorted(shown_images() - figures)}"
    assert figures == committed, "run python docs/make_figures.py and commit docs/img"
    assert figures <= shown_images(), f"figures no page shows: {sorted(figures - shown_images())}"


def test_the_committed_figures_are_current(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.testing.compare import compare_images
    from PIL import Image

    for drawn in load_make_figures().main(tmp_path):
        committed = DOCS / "img" / drawn.name
        assert committed.exists(), f"{drawn.name} is not committed: run python docs/make_figures.py"
        # The same matplotlib draws the same pixels: any difference is a change (one digit of a title
        # moves the RMS by about 1.5). Another version may antialias text a little differently.
        versions = {Image.open(path).info.get("Software") for path in (committed, drawn)}
        difference = compare_images(str(committed), str(drawn), tol=0 if len(versions) == 1 else 2)
        assert difference is None, f"docs/img/{drawn.name} is stale: run python docs/make_figures.py ({difference})"
