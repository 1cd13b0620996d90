"""clean, summarize and score on Dask DataFrames partition by partition, with the pandas results.

What runs where:

* **summarize**: one pass over the date column finds the observation window;
  a shuffle on ``customer_id`` brings each customer's transactions into one
  partition; each partition is summarized by the pandas code with the global
  window. Rows are first put back in their input order, so that every sum is
  taken in the same order as on one machine and the results are equal bit for bit.
* **score**: each partition reduces each model's columns to distinct rows with
  counts; those are gathered on the client (small on a day grid), grouped once
  more, and the models fitted there on exactly the rows the pandas path fits
  on; scoring is then mapped over the partitions with the fitted models.
* **clean**: a shuffle on ``customer_id`` (duplicates share it), the pandas
  rules per partition, and a report assembled from every partition's dropped
  rows, with their positions in the input.

Results are lazy Dask DataFrames unless ``compute=True``; what custvalue knows
about them (the unit, the fitted models, the cleaning report) rides on their
``_meta``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import dask.dataframe as dd
import numpy as np
import pandas as pd

from custvalue.clean import (
    EXAMPLES_PER_REASON,
    REASONS,
    CleanReport,
    _counts_text,
    classify_rows,
    float_id_facts,
    float_ids_to_int,
    today,
)
from custvalue.columns import (
    REQUIRED_COLUMNS,
    canonical_columns,
    first_date_format,
    is_summary,
    parse_dates,
)
from custvalue.errors import InvalidParameterError, SchemaError
from custvalue.grouping import group_rows
from custvalue.models import Ability, BaseModel
from custvalue.provenance import ATTRS_KEY, attach, provenance
from custvalue.score import ModelSpec, score_frame, score_models
from custvalue.summary import checked_transactions, end_tick, summary_frame, tick_date
from custvalue.timeunits import tick_numbers, tick_of
from custvalue.validation import validate_summary

__all__ = ["clean_dask", "summarize_dask", "score_dask"]

ORDER = "__custvalue_input_order__"  # partition number << 40 | row number within the partition
COUNT = "__custvalue_count__"
REASON, FLAG = "__custvalue_reason__", "__custvalue_flag__"
ROW_BITS = 40


def _with_input_order(ddf: dd.DataFrame) -> dd.DataFrame:
    """``ddf`` with a column giving each row's place in the input, to restore it after a shuffle."""

    def number(part: pd.DataFrame, partition_info: dict | None = None) -> pd.DataFrame:
        base = np.int64(partition_info["number"] if partition_info else 0) << ROW_BITS
        return part.assign(**{ORDER: base + np.arange(len(part), dtype=np.int64)})

    return ddf.map_partitions(number, meta=ddf._meta.assign(**{ORDER: np.array([], dtype=np.int64)}))


def _in_input_order(part: pd.DataFrame) -> pd.DataFrame:
    return part.sort_values(ORDER, kind="stable")


def _renamed(ddf: dd.DataFrame, columns: Mapping[str, str] | None) -> dd.DataFrame:
    """``ddf`` under canonical column names in canonical order, checked on its metadata (no data is
    read) by the pandas code, which raises the pandas errors for missing or unknown columns."""
    order = list(canonical_columns(ddf._meta, columns).columns)
    return (ddf.rename(columns=dict(columns)) if columns else ddf)[order]


def _finish(result: dd.DataFrame, compute: bool, sort: bool, source: dd.DataFrame | None = None,
            **items: Any) -> dd.DataFrame | pd.DataFrame:
    """Attach what custvalue knows (``source``'s provenance updated with ``items``) to the result's
    metadata; compute the result (in index order if ``sort``) if asked."""
    meta = result._meta.copy()
    meta.attrs[ATTRS_KEY] = (provenance(source) if source is not None else provenance(meta)).updated(**items)
    result = result.map_partitions(lambda part: part, meta=meta)
    if not compute:
        return result
    frame = result.compute()
    frame = frame.sort_index(kind="stable") if sort else frame
    frame.attrs[ATTRS_KEY] = provenance(result)
    return frame


# --- summarize -------------------------------------------------------------------------------------------


def summarize_dask(ddf: dd.DataFrame, unit: str, observation_end: str | pd.Timestamp | None, *, grain: str,
                   columns: Mapping[str, str] | None, compute: bool = False) -> dd.DataFrame | pd.DataFrame:
    """:func:`custvalue.summarize` for a Dask DataFrame of transactions."""
    if is_summary(ddf._meta) and not columns:  # already a summary: checked partition by partition
        return _finish(ddf.map_partitions(validate_summary, meta=ddf._meta), compute, sort=False, source=ddf)
    tx = _renamed(ddf, columns)[list(REQUIRED_COLUMNS)]
    dates = tx["date"]  # one pass over the dates: the window, checked as on pandas
    if not pd.api.types.is_datetime64_any_dtype(dates.dtype):
        dates = dates.map_partitions(parse_dates, None, meta=("date", "datetime64[us]"))
    first, last = dd.compute(dates.min(), dates.max())
    if pd.isna(first):
        raise SchemaError("summarize: the transactions frame is empty or has no readable dates")
    end = end_tick(np.array([tick_of(first, "first date", grain), tick_of(last, "last date", grain)]),
                   observation_end, grain)
    meta = _summary_meta(tx._meta, unit, grain)
    summary = _with_input_order(tx).shuffle(on="customer_id").map_partitions(
        _summarize_partition, end, unit, grain, meta=meta)
    return _finish(summary, compute, sort=True, source=ddf, unit=unit, grain=grain,
                   observation_end=tick_date(end, grain))


def _summarize_partition(part: pd.DataFrame, end: int, unit: str, grain: str) -> pd.DataFrame:
    if len(part) == 0:
        return _summary_meta(part, unit, grain)
    data = checked_transactions(_in_input_order(part).drop(columns=ORDER), None)
    return summary_frame(data, tick_numbers(data["date"], grain), end, unit, grain)[0]


def _summary_meta(tx_meta: pd.DataFrame, unit: str, grain: str) -> pd.DataFrame:
    """The empty summary of a partition (the columns and dtypes of every summary)."""
    empty = tx_meta.iloc[:0][list(REQUIRED_COLUMNS)].assign(
        date=pd.Series([], dtype="datetime64[ns]"), amount=pd.Series([], dtype=float))
    return summary_frame(empty, np.array([], dtype=np.int64), 0, unit, grain)[0]


# --- score -----------------------------------------------------------------------------------------------


def score_dask(ddf: dd.DataFrame, model: ModelSpec, spend_model: ModelSpec | None, horizon: float, unit: str,
               discount_rate: float, margin: float, *, observation_end: str | pd.Timestamp | None, grain: str,
               columns: Mapping[str, str] | None, intervals: float | None, interval_draws: int,
               interval_method: str, penalizer: float | None = None,
               compute: bool = False) -> dd.DataFrame | pd.DataFrame:
    """:func:`custvalue.score` for a Dask DataFrame of transactions or of customer summaries."""
    if isinstance(model, str) and model == "auto":
        raise InvalidParameterError(
            "model='auto' is not available on Dask; compare models on a sample with custvalue.compare_models "
            "(pandas) and name the winner")
    if intervals is not None and interval_method == "bootstrap":
        raise InvalidParameterError("on Dask, prediction intervals use interval_method='delta' (the default) or "
                                    "'asymptotic': the bootstrap refits on the whole summary")
    summarized = not (is_summary(ddf._meta) or {"frequency", "periods"} <= set(ddf.columns))
    summary = summarize_dask(ddf, unit, observation_end, grain=grain, columns=columns) if summarized else ddf
    summary_unit = provenance(summary).get("unit")
    if summary_unit is not None and summary_unit != unit:
        raise InvalidParameterError(
            f"this summary is in unit {summary_unit!r} but score was asked for unit={unit!r}; "
            "pass the same unit or summarize again")
    count_model, spend = score_models(model, spend_model, penalizer)
    to_fit = [m for m in (count_model, spend) if m is not None and not m.is_fitted]
    if to_fit:
        summary = summary.persist()  # read twice, to fit and to score: one row per customer, kept in memory
        _fit_on_gathered_rows(summary, to_fit)

    def score_partition(part: pd.DataFrame) -> pd.DataFrame:
        return score_frame(part, count_model, spend, horizon, unit, discount_rate, margin,
                           intervals=intervals, interval_draws=interval_draws, interval_method=interval_method)

    scored = summary.map_partitions(score_partition, meta=score_partition(summary._meta_nonempty).iloc[:0])
    return _finish(scored, compute, sort=summarized, source=summary, model=count_model, spend_model=spend,
                   horizon=horizon, unit=unit, discount_rate=discount_rate, margin=margin, model_choice=None)


def _fit_on_gathered_rows(summary: dd.DataFrame, models: list[BaseModel]) -> None:
    """Fit ``models`` on the distinct rows of their columns, gathered from every partition."""
    refused = [type(m).__name__ for m in models if not m.can(Ability.WEIGHTED_ROWS)]
    if refused:
        raise InvalidParameterError(
            f"{', '.join(refused)} cannot be fitted on Dask: custvalue fits on distinct summary rows with "
            "counts, and this model does not declare the ability 'weighted_rows'; fit it on a pandas summary "
            "and pass the fitted instance")
    wanted = [m.fit_columns(list(summary.columns)) for m in models]
    missing = sorted({c for columns in wanted for c in columns if c not in summary.columns})
    if missing:
        raise SchemaError(f"the summary lacks the column(s) {missing} the model needs; it has {list(summary.columns)}")
    parts = [summary.map_partitions(_distinct_partition, columns,
                                    meta=summary._meta[columns].reset_index(drop=True).assign(**{COUNT: 0.0}))
             for columns in wanted]
    for m, columns, gathered in zip(models, wanted, dd.compute(*parts)):
        rows, counts, _ = group_rows(gathered[columns], gathered[COUNT].to_numpy())
        m.fit(rows, weights=counts)


def _distinct_partition(part: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    rows, counts, _ = group_rows(part[columns], part.get("weights"))
    return rows.assign(**{COUNT: counts})


# --- clean -----------------------------------------------------------------------------------------------


def clean_dask(ddf: dd.DataFrame, *, columns: Mapping[str, str] | None, observation_end: str | pd.Timestamp | None,
               date_format: str | None, policies: dict[str, str],
               compute: bool = False) -> dd.DataFrame | pd.DataFrame:
    """:func:`custvalue.clean` for a Dask DataFrame.

    What pandas decides on the whole frame is decided here before the partitions are cleaned, so that
    both give the same rows and dtypes: the format of the first date, and whether float customer ids
    become int64 (two small passes over one column each).
    """
    renamed = _renamed(ddf, columns)
    now = today()
    first_format = None
    if date_format is None and not pd.api.types.is_datetime64_any_dtype(renamed._meta["date"].dtype):
        first = renamed["date"].dropna().head(1, npartitions=-1, compute=True)
        first_format = first_date_format(first) if len(first) else None
    ids_to_int = False
    if pd.api.types.is_float_dtype(renamed._meta["customer_id"].dtype):
        facts = renamed["customer_id"].map_partitions(
            lambda ids: pd.DataFrame([float_id_facts(ids)], columns=["whole", "largest"]),
            meta=pd.DataFrame({"whole": pd.Series([], dtype=bool), "largest": pd.Series([], dtype=float)})).compute()
        ids_to_int = float_ids_to_int(renamed._meta["customer_id"].dtype, bool(facts["whole"].all()),
                                      float(facts["largest"].max()))

    def classify(part: pd.DataFrame) -> pd.DataFrame:
        part = _in_input_order(part)
        data = part.drop(columns=ORDER)
        out, reason, flag = classify_rows(data, data, policies, date_format, observation_end, whole_frame=False,
                                          today=now, first_format=first_format)
        return out.assign(**{ORDER: part[ORDER].to_numpy(), REASON: reason, FLAG: flag})

    meta = renamed._meta
    date_type = meta["date"].dtype if pd.api.types.is_datetime64_any_dtype(meta["date"].dtype) else "datetime64[us]"
    meta = meta.assign(date=pd.Series([], dtype=date_type), amount=pd.Series([], dtype=float), **{
        ORDER: np.array([], dtype=np.int64), REASON: np.array([], dtype=np.int8), FLAG: np.array([], dtype=np.int8)})
    ordered = _with_input_order(renamed)
    classified = ordered.shuffle(on="customer_id").map_partitions(classify, meta=meta)
    kept = classified[classified[REASON] < 0].drop(columns=[REASON, FLAG])
    if ids_to_int:  # float ids that are all whole numbers become int64, as on pandas
        kept = kept.astype({"customer_id": np.int64})
    noted = classified[(classified[REASON] >= 0) | (classified[FLAG] >= 0)]
    report = DaskCleanReport(ddf, noted[[ORDER, REASON, FLAG]], ordered.map_partitions(len))
    if not compute:
        return _finish(kept.drop(columns=ORDER), False, sort=False, report=report)
    frame, flagged, lengths = dd.compute(kept, report.flagged, report.lengths)  # one pass for all three
    report.assemble(flagged, lengths)
    return attach(frame.sort_values(ORDER, kind="stable").drop(columns=ORDER), report=report.resolve())


class DaskCleanReport:
    """The cleaning report of :func:`clean` on a Dask DataFrame, computed (once) when first asked for."""

    def __init__(self, source: dd.DataFrame, flagged: dd.DataFrame, lengths: dd.Series) -> None:
        self.source, self.flagged, self.lengths = source, flagged, lengths  # lengths: rows per input partition
        self._report: CleanReport | None = None

    def __deepcopy__(self, memo: dict) -> DaskCleanReport:
        return self

    def resolve(self) -> CleanReport:
        """The :class:`~custvalue.clean.CleanReport` (reads and shuffles the data once)."""
        if self._report is None:
            self.assemble(*dd.compute(self.flagged, self.lengths))
        return cast(CleanReport, self._report)  # set by assemble

    def assemble(self, flagged: pd.DataFrame, lengths: pd.Series) -> None:
        """Build the report from the dropped and flagged rows of every partition."""
        offsets = np.concatenate([[0], np.cumsum(np.asarray(lengths, dtype=np.int64))])
        order = flagged[ORDER].to_numpy()
        position = offsets[order >> ROW_BITS] + (order & ((1 << ROW_BITS) - 1))
        reason, flag = flagged[REASON].to_numpy(), flagged[FLAG].to_numpy()
        dropped, kept_flagged, shown, where = {}, {}, {}, {}
        for code, name in enumerate(REASONS):
            where[name] = np.sort(position[reason == code])
            dropped[name] = len(where[name])
            flagged_here = np.sort(position[flag == code])
            if len(flagged_here):
                kept_flagged[name] = len(flagged_here)
            first_few = (where[name] if len(where[name]) else flagged_here)[:EXAMPLES_PER_REASON]
            if len(first_few):
                shown[name] = first_few
        examples = self._examples(shown, offsets)
        rows_in = int(offsets[-1])
        rows_kept = rows_in - sum(dropped.values())
        if rows_in and rows_kept == 0:
            raise SchemaError(
                f"clean: every one of the {rows_in:,} rows was dropped "
                f"({_counts_text(reason[reason >= 0])}); check the column mapping and the policies")
        self._report = CleanReport(rows_in, rows_kept, dropped, kept_flagged, examples, where)

    def _examples(self, shown: dict[str, np.ndarray], offsets: np.ndarray) -> dict[str, pd.DataFrame]:
        """The input rows at the global positions ``shown`` per reason, reading each partition once."""
        if not shown:
            return {}
        wanted = np.unique(np.concatenate(list(shown.values())))
        partition = np.searchsorted(offsets, wanted, side="right") - 1
        parts = dd.compute(*[self.source.partitions[int(k)] for k in np.unique(partition)])
        rows = pd.concat([part.iloc[wanted[partition == k] - offsets[k]]
                          for k, part in zip(np.unique(partition), parts)])
        by_position = dict(zip(wanted.tolist(), range(len(wanted))))
        return {name: rows.iloc[[by_position[p] for p in positions.tolist()]] for name, positions in shown.items()}
