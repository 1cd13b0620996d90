"""Progress bars show where someone watches (a terminal or Jupyter), never in scripts, and never when told not to."""

import sys

import pytest

from custvalue import progress as module
from custvalue.errors import InvalidParameterError
from custvalue.progress import progress

tqdm = pytest.importorskip("tqdm").tqdm  # the notebook widget is a subclass


class Terminal:
    def isatty(self):
        return True

    def write(self, text):
        return len(text)

    def flush(self):
        pass


def test_silent_where_nobody_watches(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    bar = progress(range(3), "work")  # pytest's captured stderr is not a terminal
    assert not isinstance(bar, tqdm) and list(bar) == [0, 1, 2]


def test_a_bar_in_a_terminal_or_a_notebook_unless_told_not_to(monkeypatch):
    monkeypatch.setattr(module.sys, "stderr", Terminal())
    bar = progress(range(3), "work")
    assert isinstance(bar, tqdm) and list(bar) == [0, 1, 2]
    assert not isinstance(progress(range(3), "work", enabled=False), tqdm)
    monkeypatch.setattr(module.sys, "stderr", None)
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    assert isinstance(progress(range(3), "work"), tqdm)


def test_the_argument_is_checked():
    with pytest.raises(InvalidParameterError, match="progress='yes'"):
        progress(range(3), "work", enabled="yes")


def test_in_a_notebook_without_widgets_a_text_bar_and_no_warning(monkeypatch):
    import importlib.util
    import warnings

    from tqdm import std

    monkeypatch.setitem(sys.modules, "ipykernel", object())
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ipywidgets" else real(name, *a))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bar = progress(range(2), "work", enabled=True)
    assert type(bar) is std.tqdm and list(bar) == [0, 1]
