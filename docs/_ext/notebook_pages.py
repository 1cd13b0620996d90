"""The tutorial notebooks as pages of the docs site, read where they live (``notebooks/``).

The notebooks stay in ``notebooks/``, where the test suite executes them, instead of being kept in
a second copy under ``docs/``. This mkdocs hook adds each ``notebooks/*.ipynb`` to the site as
``tutorials/<name>.ipynb`` before the mkdocs-jupyter plugin turns ``.ipynb`` files into pages. The
site renders the outputs saved in the notebooks and executes nothing; ``python -m pytest notebooks
--overwrite`` (nbmake) runs them and saves fresh outputs in place, which CI does in its test run
before it builds the site.

mkdocs-jupyter reads a page from ``src_dir / src_uri``, so each build stages the notebooks in a
temporary folder laid out as the site (``tutorials/<name>.ipynb``) and removes it at the end.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SITE_FOLDER = "tutorials"

_staging: list[tempfile.TemporaryDirectory] = []


def tutorial_uri(notebook: Path) -> str:
    """Where a notebook appears among the docs' files (and in ``nav``).

    Examples
    --------
    >>> tutorial_uri(NOTEBOOKS / "01_quickstart.ipynb")
    'tutorials/01_quickstart.ipynb'
    """
    return f"{SITE_FOLDER}/{notebook.name}"


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add every tutorial notebook to the site's files."""
    staging = tempfile.TemporaryDirectory(prefix="custvalue-tutorials-")
    _staging.append(staging)
    (Path(staging.name) / SITE_FOLDER).mkdir()
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        uri = tutorial_uri(notebook)
        shutil.copyfile(notebook, Path(staging.name) / uri)
        files.append(File(uri, staging.name, config.site_dir, config.use_directory_urls))
    return files


def on_post_build(config: MkDocsConfig) -> None:
    """Remove the staged notebooks once the pages are written."""
    while _staging:
        _staging.pop().cleanup()
