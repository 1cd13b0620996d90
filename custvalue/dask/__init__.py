"""Dask DataFrames in custvalue: ``import custvalue.dask`` and pass them to clean, summarize and score.

Importing this package (the ``dask`` extra: ``pip install "custvalue[dask]"``)
teaches the core steps Dask DataFrames and registers ``ddf.cv``; nothing in
the core imports Dask. Results equal the pandas results; see the "Scaling up"
page of the documentation for what runs where.

Examples
--------
>>> import dask.dataframe as dd
>>> import custvalue as cv
>>> import custvalue.dask
>>> tx = dd.from_pandas(cv.datasets.load_cdnow(sample=True), npartitions=3)
>>> summary = tx.cv.clean().cv.summarize(observation_end="1997-09-30", compute=True)
>>> len(summary)
2357
"""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd

from custvalue.accessor import STEPS, CustValueAccessor, Step
from custvalue.dask._steps import DaskCleanReport, clean_dask, score_dask, summarize_dask
from custvalue.engines import register_engine

__all__ = ["DaskAccessor", "DaskCleanReport", "clean_dask", "summarize_dask", "score_dask"]

# The steps that take a Dask DataFrame; the later ones work on one row per customer.
DASK_STEPS = ("clean", "summarize", "score")


class DaskAccessor:
    """``ddf.cv`` on a Dask DataFrame: ``clean``, ``summarize``, ``score``, ``report`` and ``models``,
    the methods of the pandas accessor. The steps after scoring work on one row per customer:
    compute first."""

    def __init__(self, ddf: dd.DataFrame):
        self._frame = ddf

    locals().update({name: Step(STEPS[name]) for name in DASK_STEPS})
    report = CustValueAccessor.report
    models = CustValueAccessor.models

    def __getattr__(self, name: str) -> Any:
        if name in STEPS or name in vars(CustValueAccessor):
            raise AttributeError(
                f"ddf.cv.{name} works on pandas: a scored frame has one row per customer, so compute it "
                f"first (scored.compute().cv.{name}(...) or score(..., compute=True))")
        raise AttributeError(name)


def _attrs(ddf: dd.DataFrame) -> dict:
    # A Dask DataFrame carries custvalue's record on the empty pandas frame that describes its partitions.
    return ddf._meta.attrs


register_engine(dd.DataFrame, clean=clean_dask, summarize=summarize_dask, score=score_dask, attrs=_attrs)
dd.extensions.register_dataframe_accessor("cv")(DaskAccessor)
