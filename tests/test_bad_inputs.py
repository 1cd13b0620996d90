"""The bad-input catalogue: every public step, every parameter, every kind of bad value.

Each case must end in a custvalue error that also subclasses the builtin users catch for that kind of
problem (TypeError for a wrong type, ValueError for a wrong value, KeyError for a missing column), and
whose message names the parameter (or the column). ``CASES`` is also run by
benchmarks/bench_bad_inputs.py, which counts how each case ends.

Where a message suggests a call, the tests at the end run that call.
"""

from __future__ import annotations

import contextlib
import decimal
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

import custvalue as cv
from custvalue import plotting
from custvalue.errors import CustValueError

warnings.simplefilter("ignore", category=UserWarning)  # small arms in measure_uplift; not what is tested here

# --- the data the cases start from (small, built once) ---------------------------------------------------

TX = cv.datasets.load_cdnow(sample=True)
TX_SMALL = TX[TX["customer_id"] <= 300].reset_index(drop=True)
SUMMARY = cv.summarize(cv.clean(TX_SMALL), observation_end="1997-09-30")
SCORED = cv.score(SUMMARY, horizon=39)
SEGMENTED = cv.segment(SCORED, method="rfm")
CALHOLD = cv.calibration_holdout(cv.clean(TX_SMALL), "1997-09-30", "1998-06-30")
MODEL = cv.fitted_models(SCORED)["model"]
SPEND = cv.fitted_models(SCORED)["spend_model"]
CAMPAIGN = cv.simulate_campaign(400, seed=1)
EVALUATION = cv.evaluate(MODEL, CALHOLD)
TRACK = cv.tracking(MODEL, TX_SMALL)
MATRIX = cv.cohort_retention(TX_SMALL)
MEASURED = cv.measure_uplift(CAMPAIGN, n_boot=100)


@dataclass(frozen=True)
class Case:
    """One bad call: what it is, the call, the builtin its error must also be, the names its message must show."""

    id: str
    call: Callable[[], Any]
    builtin: type[BaseException]
    names: tuple[str, ...]


CASES: list[Case] = []


def case(id: str, call: Callable[[], Any], builtin: type[BaseException], *names: str) -> None:
    CASES.append(Case(id, call, builtin, names))


# --- bad values by kind ----------------------------------------------------------------------------------

WRONG_TYPES_FOR_NUMBERS = [("str", "1"), ("list", [1.0]), ("bool", True), ("none", None), ("complex", 1 + 1j),
                           ("array", np.array([1.0])), ("decimal", decimal.Decimal("1"))]


def numbers(low: float | None = None, high: float | None = None, *, low_open: bool = False,
            optional: bool = False, whole: bool = False) -> list[tuple[str, Any, type[BaseException]]]:
    """Bad values for a number within [low, high]: wrong types, NaN, ±inf, out of range (and fractions for
    whole numbers)."""
    bad: list[tuple[str, Any, type[BaseException]]] = [
        (label, value, TypeError) for label, value in WRONG_TYPES_FOR_NUMBERS if not (optional and value is None)]
    bad += [("nan", float("nan"), ValueError), ("inf", float("inf"), ValueError),
            ("-inf", float("-inf"), ValueError), ("np_nan", np.float32("nan"), ValueError)]
    if low is not None:
        bad.append(("below", low if low_open else low - 1, ValueError))
        bad.append(("negative", -1e9, ValueError))
    if high is not None:
        bad.append(("above", high + 1, ValueError))
    if whole:
        bad.append(("fraction", (low or 0) + 10.5, ValueError))
    return bad


def choices(valid: list[str]) -> list[tuple[str, Any, type[BaseException]]]:
    return [("unknown", "nope", ValueError), ("lowercase", valid[0].lower() + "x", ValueError),
            ("int", 5, TypeError), ("list", [valid[0]], TypeError), ("none", None, TypeError)]


def booleans() -> list[tuple[str, Any, type[BaseException]]]:
    return [("str", "yes", TypeError), ("int", 1, TypeError), ("none", None, TypeError),
            ("text_true", "True", TypeError)]


def dates(optional: bool = True) -> list[tuple[str, Any, type[BaseException]]]:
    bad = [("int", 19970930, TypeError), ("float", 1997.5, TypeError), ("text", "not a date", ValueError),
           ("empty", "", ValueError), ("list", ["1997-09-30"], TypeError), ("bool", True, TypeError),
           ("nat", pd.NaT, ValueError), ("month_13", "1997-13-45", ValueError)]
    if not optional:
        bad.append(("none", None, TypeError))
    return bad


def mappings() -> list[tuple[str, Any, type[BaseException]]]:
    return [("str", "customer_id", TypeError), ("list", ["customer_id"], TypeError), ("int", 5, TypeError),
            ("non_str_value", {"customer_id": 5}, TypeError), ("unknown_key", {"nope": "customer_id"}, KeyError)]


def frames() -> list[tuple[str, Any, type[BaseException]]]:
    multi = SCORED.copy()
    multi.columns = pd.MultiIndex.from_tuples([("a", c) for c in SCORED.columns])
    dup = SCORED.copy()
    dup.columns = ["frequency"] * len(dup.columns)
    return [("none", None, TypeError), ("list", [[1, 2]], TypeError), ("dict", {"a": [1]}, TypeError),
            ("series", SCORED["frequency"], TypeError), ("array", SCORED.to_numpy(), TypeError),
            ("str", "data.csv", TypeError), ("multiindex_columns", multi, ValueError),
            ("duplicated_columns", dup, ValueError)]


def columns(frame: pd.DataFrame, numeric_required: bool = True) -> list[tuple[str, Any, type[BaseException]]]:
    bad = [("int", 5, TypeError), ("list", ["clv"], TypeError), ("missing", "no_such_column", KeyError),
           ("misspelled", "cvl", KeyError), ("series", frame.iloc[:, 0], TypeError)]
    if numeric_required:
        text = [c for c in frame.columns
                if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype | pd.CategoricalDtype)]
        if text:
            bad.append(("not_numeric", text[0], ValueError))
    return bad


def seeds() -> list[tuple[str, Any, type[BaseException]]]:
    return [("negative", -1, ValueError), ("fraction", 1.5, ValueError), ("str", "1", TypeError)]


def models(role: str) -> list[tuple[str, Any, type[BaseException]]]:
    other = "bgnbd" if role == "spend" else "gammagamma"
    return [("unknown", "no_such_model", ValueError), ("int", 5, TypeError), ("wrong_role", other, ValueError),
            ("object", object(), TypeError)]


def expressions() -> list[tuple[str, Any, type[BaseException]]]:
    return [("int", 5, TypeError), ("empty", "", ValueError), ("syntax", "clv >", ValueError),
            ("attribute", "clv.__class__", ValueError), ("call", "open('x')", ValueError),
            ("numbers", "clv + 1", ValueError), ("at_reference", "@x > 1", ValueError),
            ("unknown_column", "no_such_column > 1", KeyError)]


def add(function: str, parameter: str, bad: list[tuple[str, Any, type[BaseException]]],
        call: Callable[[Any], Any], *names: str) -> None:
    """One case per bad value of ``parameter``; the message must name ``names`` (default: the parameter)."""
    for label, value, builtin in bad:
        case(f"{function}/{parameter}/{label}", lambda value=value: call(value), builtin, *(names or (parameter,)))


# --- clean ---------------------------------------------------------------------------------------------

add("clean", "tx", frames(), lambda v: cv.clean(v))
add("clean", "columns", mappings(), lambda v: cv.clean(TX_SMALL, columns=v))
add("clean", "observation_end", dates(), lambda v: cv.clean(TX_SMALL, observation_end=v))
add("clean", "date_format", [("int", 5, TypeError), ("empty", "", ValueError), ("list", ["%d"], TypeError)],
    lambda v: cv.clean(TX_SMALL, date_format=v))
for policy in ("missing", "invalid"):
    add("clean", policy, choices(["drop", "raise"]) + [("keep", "keep", ValueError)],
        lambda v, policy=policy: cv.clean(TX_SMALL, **{policy: v}))
for policy in ("duplicates", "zero_amounts", "negative_amounts", "after_end", "future_dates"):
    add("clean", policy, choices(["drop", "keep", "raise"]), lambda v, policy=policy: cv.clean(TX_SMALL, **{policy: v}))
add("clean", "compute", booleans(), lambda v: cv.clean(TX_SMALL, compute=v))
case("clean/tx/empty", lambda: cv.clean(TX_SMALL.iloc[:0]), ValueError, "tx")
case("clean/tx/misnamed_column", lambda: cv.clean(TX_SMALL.rename(columns={"customer_id": "cust"})), KeyError,
     "customer_id")
case("clean/tx/missing_amount_column", lambda: cv.clean(TX_SMALL.drop(columns="amount")), KeyError, "amount")
case("clean/columns/two_to_one", lambda: cv.clean(TX_SMALL.assign(cust=1), columns={"cust": "customer_id"}),
     ValueError, "columns")
case("clean/tx/all_amounts_nan", lambda: cv.clean(TX_SMALL.assign(amount=np.nan)), ValueError, "amount")
case("clean/tx/all_amounts_text", lambda: cv.clean(TX_SMALL.assign(amount="n/a")), ValueError, "amount")
case("clean/tx/all_dates_unreadable", lambda: cv.clean(TX_SMALL.assign(date="soon")), ValueError, "date")
case("clean/tx/all_ids_lists", lambda: cv.clean(TX_SMALL.head(5).assign(customer_id=[[1]] * 5)), ValueError,
     "customer_id")
case("clean/tx/all_ids_inf", lambda: cv.clean(TX_SMALL.head(5).assign(customer_id=np.inf)), ValueError,
     "customer_id")
case("clean/tx/float_ids_beyond_2**53",
     lambda: cv.clean(TX_SMALL.head(5).assign(customer_id=[1e19, 1e19 + 4096, 2.0, 3.0, np.nan])), ValueError,
     "customer_id")
case("clean/tx/mixed_date_formats",
     lambda: cv.clean(pd.DataFrame({"customer_id": [1, 1, 2], "date": ["01/02/2024", "13/02/2024", "2024-03-01"],
                                    "amount": [1.0, 2.0, 3.0]})), ValueError, "date", "date_format")
case("clean/duplicates/raise", lambda: cv.clean(TX_SMALL, duplicates="raise"), ValueError, "duplicates")
case("clean/future_dates/raise",
     lambda: cv.clean(TX_SMALL.assign(date=TX_SMALL["date"].where(TX_SMALL.index > 0, pd.Timestamp("2099-01-01"))),
                      future_dates="raise"), ValueError, "future_dates", "date")
case("clean/missing/raise", lambda: cv.clean(TX_SMALL.assign(amount=TX_SMALL["amount"].where(TX_SMALL.index > 0)),
                                             missing="raise"), ValueError, "missing", "amount")

# --- cleaning_report, fitted_models, uplift_summary -----------------------------------------------------

for name, function in (("cleaning_report", cv.cleaning_report), ("fitted_models", cv.fitted_models),
                       ("uplift_summary", cv.uplift_summary)):
    add(name, "frame", frames()[:6], function)
    case(f"{name}/frame/without_record", lambda function=function: function(pd.DataFrame({"a": [1]})), ValueError,
         "frame")

# --- summarize and calibration_holdout ------------------------------------------------------------------

add("summarize", "tx", frames(), lambda v: cv.summarize(v))
add("summarize", "unit", choices(["D", "W", "M", "Y"]), lambda v: cv.summarize(TX_SMALL, unit=v))
add("summarize", "grain", choices(["D", "W", "M", "Y"]), lambda v: cv.summarize(TX_SMALL, grain=v))
add("summarize", "observation_end", dates(), lambda v: cv.summarize(TX_SMALL, observation_end=v))
add("summarize", "columns", mappings(), lambda v: cv.summarize(TX_SMALL, columns=v))
add("summarize", "compute", booleans(), lambda v: cv.summarize(TX_SMALL, compute=v))
case("summarize/observation_end/before_first_purchase", lambda: cv.summarize(TX_SMALL, observation_end="1990-01-01"),
     ValueError, "observation_end")
for column, value, builtin in (("amount", np.nan, ValueError), ("amount", np.inf, ValueError),
                               ("amount", -5.0, ValueError), ("amount", "x", ValueError), ("date", pd.NaT, ValueError),
                               ("customer_id", np.nan, ValueError), ("customer_id", np.inf, ValueError)):
    bad_tx = TX_SMALL.astype({column: object if isinstance(value, str) else
                              TX_SMALL[column].dtype if column == "date" else float})
    bad_tx.loc[3, column] = value
    case(f"summarize/tx/{column}_{value}", lambda bad_tx=bad_tx: cv.summarize(bad_tx), builtin, column)
case("summarize/tx/amounts_overflow",
     lambda: cv.summarize(TX_SMALL.assign(amount=np.where(TX_SMALL["customer_id"] == 1, 1e308, 1.0))), ValueError,
     "amount")
case("summarize/tx/no_canonical_columns", lambda: cv.summarize(pd.DataFrame({"a": [1], "b": [2]})), KeyError,
     "columns")
add("calibration_holdout", "tx", frames(), lambda v: cv.calibration_holdout(v, "1997-09-30"))
add("calibration_holdout", "calibration_end", dates(optional=False),
    lambda v: cv.calibration_holdout(TX_SMALL, v))
add("calibration_holdout", "observation_end", dates(), lambda v: cv.calibration_holdout(TX_SMALL, "1997-09-30", v))
add("calibration_holdout", "unit", choices(["D", "W", "M", "Y"]),
    lambda v: cv.calibration_holdout(TX_SMALL, "1997-09-30", unit=v))
add("calibration_holdout", "grain", choices(["D", "W", "M", "Y"]),
    lambda v: cv.calibration_holdout(TX_SMALL, "1997-09-30", grain=v))
add("calibration_holdout", "columns", mappings(), lambda v: cv.calibration_holdout(TX_SMALL, "1997-09-30", columns=v))
case("calibration_holdout/observation_end/before_calibration_end",
     lambda: cv.calibration_holdout(TX_SMALL, "1997-09-30", "1997-06-30"), ValueError, "observation_end")

# --- score ---------------------------------------------------------------------------------------------

add("score", "data", frames(), lambda v: cv.score(v))
add("score", "model", models("purchase") + [("contractual", "sbg", ValueError)],
    lambda v: cv.score(SUMMARY, model=v), "model")
add("score", "spend_model", models("spend"), lambda v: cv.score(SUMMARY, spend_model=v), "spend_model")
add("score", "horizon", numbers(0), lambda v: cv.score(SUMMARY, horizon=v))
add("score", "unit", choices(["D", "W", "M", "Y"]), lambda v: cv.score(SUMMARY, unit=v))
add("score", "discount_rate", numbers(0), lambda v: cv.score(SUMMARY, discount_rate=v))
add("score", "margin", numbers(0, 1), lambda v: cv.score(SUMMARY, margin=v))
add("score", "observation_end", dates(), lambda v: cv.score(TX_SMALL, observation_end=v))
add("score", "grain", choices(["D", "W", "M", "Y"]), lambda v: cv.score(TX_SMALL, grain=v))
add("score", "columns", mappings()[:4], lambda v: cv.score(TX_SMALL, columns=v))
add("score", "intervals", [b for b in numbers(0, 1, low_open=True, optional=True)] + [("one", 1.0, ValueError)],
    lambda v: cv.score(SUMMARY, intervals=v))
add("score", "interval_draws", numbers(10, whole=True), lambda v: cv.score(SUMMARY, intervals=0.9, interval_draws=v))
add("score", "interval_method", choices(["asymptotic", "bootstrap"]),
    lambda v: cv.score(SUMMARY, intervals=0.9, interval_method=v))
add("score", "penalizer", numbers(0, optional=True), lambda v: cv.score(SUMMARY, penalizer=v))
add("score", "compute", booleans(), lambda v: cv.score(SUMMARY, compute=v))
case("score/model/bgbb_on_a_continuous_summary", lambda: cv.score(SUMMARY, model="bgbb"), KeyError, "model", "periods")
case("score/penalizer/applies_to_no_fit", lambda: cv.score(SUMMARY, model="historic", penalizer=0.01), ValueError,
     "penalizer")
case("score/penalizer/fitted_models", lambda: cv.score(SUMMARY, model=MODEL, spend_model=SPEND, penalizer=0.01),
     ValueError, "penalizer")
case("score/data/duplicated_customer_ids", lambda: cv.score(pd.concat([SUMMARY, SUMMARY.head(3)])), ValueError,
     "data: the summary has 3 duplicated customer id")
case("score/data/summary_with_nan", lambda: cv.score(SUMMARY.assign(recency=np.nan)), ValueError, "recency")
case("score/data/summary_recency_above_T", lambda: cv.score(SUMMARY.assign(recency=SUMMARY["T"] + 1)), ValueError,
     "recency")
case("score/data/summary_negative_frequency", lambda: cv.score(SUMMARY.assign(frequency=-1)), ValueError, "frequency")
case("score/unit/other_than_the_summary", lambda: cv.score(SUMMARY, unit="D"), ValueError, "unit")
case("score/model/auto_on_a_summary", lambda: cv.score(SUMMARY, model="auto"), ValueError, "model")
case("score/data/missing_columns", lambda: cv.score(pd.DataFrame({"frequency": [1], "T": [2.0]})), KeyError,
     "customer_id", "date", "amount")

# --- segment and segment_summary ------------------------------------------------------------------------

add("segment", "frame", frames(), lambda v: cv.segment(v))
add("segment", "method", choices(["rfm", "value_tiers"]), lambda v: cv.segment(SCORED, method=v))
case("segment/frame/empty", lambda: cv.segment(SCORED.iloc[:0]), ValueError, "frame")
case("segment/options/unknown", lambda: cv.segment(SCORED, method="rfm", quantiles=[0.5]), TypeError, "quantiles")
add("segment", "value", columns(SEGMENTED), lambda v: cv.segment(SEGMENTED, method="value_tiers", value=v))
add("segment", "quantiles", [("str", "0.5", TypeError), ("strings", ["a", "b"], TypeError), ("empty", [], ValueError),
                             ("zero", [0.0, 0.5], ValueError), ("one", [0.5, 1.0], ValueError),
                             ("nan", [np.nan], ValueError), ("repeated", [0.5, 0.5], ValueError),
                             ("number", 0.5, TypeError)],
    lambda v: cv.segment(SCORED, method="value_tiers", quantiles=v), "quantiles")
add("segment", "bins", [("strings", ["a", "b"], TypeError), ("str", "10", TypeError), ("empty", [], ValueError),
                        ("inf", [np.inf], ValueError), ("nan", [1.0, np.nan], ValueError),
                        ("repeated", [5.0, 5.0], ValueError), ("number", 10, TypeError)],
    lambda v: cv.segment(SCORED, method="value_tiers", bins=v), "bins")
case("segment/quantiles/and_bins", lambda: cv.segment(SCORED, method="value_tiers", quantiles=[0.5], bins=[1.0]),
     ValueError, "quantiles")
add("segment", "labels", [("too_few", ["a", "b"], ValueError), ("not_text", [1, 2, 3], ValueError),
                          ("repeated", ["a", "a", "b"], ValueError), ("str", "abc", TypeError)],
    lambda v: cv.segment(SCORED, method="value_tiers", labels=v), "labels")
case("segment/value_tiers/nan_values", lambda: cv.segment(SCORED.assign(clv=np.nan), method="value_tiers"),
     ValueError, "clv")
case("segment/value_tiers/inf_values", lambda: cv.segment(SCORED.assign(clv=np.inf), method="value_tiers"),
     ValueError, "clv")
case("segment/value_tiers/no_value_column", lambda: cv.segment(pd.DataFrame({"a": [1.0]}), method="value_tiers"),
     KeyError, "value")
add("segment", "rules", [("str", "VIP", TypeError), ("empty", {}, ValueError),
                         ("ranges_not_dict", {"VIP": (4, 5)}, TypeError),
                         ("unknown_score", {"VIP": {"x": (1, 2)}}, ValueError),
                         ("out_of_range", {"VIP": {"r": (0, 9)}}, ValueError),
                         ("reversed", {"VIP": {"r": (5, 1)}}, ValueError),
                         ("not_a_pair", {"VIP": {"r": 5}}, TypeError),
                         ("fraction", {"VIP": {"r": (1.5, 2)}}, ValueError),
                         ("name_other", {"Other": {"r": (1, 2)}}, ValueError),
                         ("name_not_text", {5: {"r": (1, 2)}}, TypeError)],
    lambda v: cv.segment(SCORED, method="rfm", rules=v), "rules")
for column in ("frequency", "recency", "T"):
    case(f"segment/rfm/{column}_nan", lambda column=column: cv.segment(SCORED.assign(**{column: np.nan})), ValueError,
         column)
    case(f"segment/lifecycle/missing_{column}",
         lambda column=column: cv.segment(SCORED.drop(columns=column), method="lifecycle"), KeyError, column)
case("segment/rfm/monetary_inf", lambda: cv.segment(SCORED.assign(monetary_value=np.inf)), ValueError, "monetary_value")
case("segment/lifecycle/p_alive_nan",
     lambda: cv.segment(SCORED.assign(p_alive=np.where(np.arange(len(SCORED)) < 5, np.nan, 0.5)), method="lifecycle"),
     ValueError, "p_alive")
case("segment/lifecycle/p_alive_above_one", lambda: cv.segment(SCORED.assign(p_alive=1.5), method="lifecycle"),
     ValueError, "p_alive")
add("segment", "thresholds", [("str", "soon", TypeError), ("unknown", {"soon": 1}, ValueError),
                              ("nan", {"new_within": np.nan}, ValueError),
                              ("negative", {"churned_after": -1}, ValueError),
                              ("p_above_one", {"churned_p_alive": 1.5}, ValueError),
                              ("text", {"loyal_frequency": "3"}, TypeError)],
    lambda v: cv.segment(SCORED, method="lifecycle", thresholds=v), "thresholds")
add("segment", "k", numbers(1, len(SCORED), whole=True, optional=True),
    lambda v: cv.segment(SCORED, method="kmeans", k=v))
add("segment", "features", [("int", 5, TypeError), ("empty", [], TypeError), ("missing", ["nope"], KeyError),
                            ("text_column", ["frequency", "segment"], ValueError)],
    lambda v: cv.segment(SEGMENTED, method="kmeans", k=2, features=v), "features")
add("segment", "seed", seeds(), lambda v: cv.segment(SCORED, method="kmeans", k=2, seed=v))
add("segment", "max_k", [("one", 1, ValueError), ("str", "8", TypeError), ("fraction", 2.5, ValueError)],
    lambda v: cv.segment(SCORED, method="kmeans", max_k=v))
case("segment/kmeans/two_customers", lambda: cv.segment(SCORED.head(2), method="kmeans"), ValueError, "k")
case("segment/kmeans/features_nan", lambda: cv.segment(SCORED.assign(clv=np.nan), method="kmeans", k=2), ValueError,
     "clv")
add("segment", "rules=expression", [(label, {"x": value}, builtin) for label, value, builtin in expressions()]
    + [("none_rule", {"x": None}, TypeError), ("not_a_dict", ["clv > 1"], TypeError)],
    lambda v: cv.segment(SCORED, method="rules", rules=v), "rules")
case("segment/rules/function_gives_numbers",
     lambda: cv.segment(SCORED, method="rules", rules={"x": lambda d: d["clv"]}),
     ValueError, "rules['x']")
case("segment/rules/function_raises", lambda: cv.segment(SCORED, method="rules", rules={"x": lambda d: d["nope"]}),
     ValueError, "rules['x']")
case("segment/rules/function_wrong_length",
     lambda: cv.segment(SCORED, method="rules", rules={"x": lambda d: np.array([True])}), ValueError, "rules['x']")
add("segment_summary", "frame", frames(), lambda v: cv.segment_summary(v))
add("segment_summary", "value", columns(SEGMENTED), lambda v: cv.segment_summary(SEGMENTED, value=v))
case("segment_summary/frame/no_segment", lambda: cv.segment_summary(SCORED), KeyError, "segment")
case("segment_summary/value/nan", lambda: cv.segment_summary(SEGMENTED.assign(clv=np.nan)), ValueError, "clv")

# --- filter_customers -----------------------------------------------------------------------------------

add("filter", "frame", frames()[:6], lambda v: cv.filter_customers(v))
add("filter", "segment", [("int", 5, TypeError), ("unknown", "Whales", ValueError), ("empty", [], ValueError),
                          ("dict", {"At Risk": 1}, TypeError)],
    lambda v: cv.filter_customers(SEGMENTED, segment=v), "segment")
case("filter/segment/no_segment_column", lambda: cv.filter_customers(SCORED, segment="At Risk"), KeyError, "segment")
add("filter", "min_value", numbers(optional=True), lambda v: cv.filter_customers(SCORED, min_value=v))
add("filter", "max_value", numbers(optional=True), lambda v: cv.filter_customers(SCORED, max_value=v))
case("filter/max_value/below_min_value", lambda: cv.filter_customers(SCORED, min_value=10, max_value=5), ValueError,
     "max_value")
add("filter", "value", columns(SEGMENTED), lambda v: cv.filter_customers(SEGMENTED, min_value=1, value=v))
add("filter", "p_alive", [("number", 0.5, TypeError), ("triple", (0, 0.5, 1), TypeError), ("str", "0.5", TypeError),
                          ("reversed", (0.8, 0.2), ValueError), ("above_one", (0.5, 2.0), TypeError),
                          ("nan", (np.nan, 1.0), TypeError)],
    lambda v: cv.filter_customers(SCORED, p_alive=v), "p_alive")
case("filter/p_alive/no_column", lambda: cv.filter_customers(SUMMARY, p_alive=(0, 1)), KeyError, "p_alive")
case("filter/p_alive/nan_values", lambda: cv.filter_customers(SCORED.assign(p_alive=np.nan), p_alive=(0, 1)),
     ValueError, "p_alive")
add("filter", "top", numbers(0, whole=True, optional=True), lambda v: cv.filter_customers(SCORED, top=v))
add("filter", "top_share", numbers(0, 1, low_open=True, optional=True),
    lambda v: cv.filter_customers(SCORED, top_share=v))
case("filter/top/and_top_share", lambda: cv.filter_customers(SCORED, top=3, top_share=0.5), ValueError, "top")
add("filter", "by", columns(SEGMENTED), lambda v: cv.filter_customers(SEGMENTED, top=3, by=v))
case("filter/by/without_top", lambda: cv.filter_customers(SCORED, by="clv"), ValueError, "by")
add("filter", "query", expressions(), lambda v: cv.filter_customers(SCORED, query=v))
case("filter/min_value/nan_values", lambda: cv.filter_customers(SCORED.assign(clv=np.nan), min_value=1), ValueError,
     "clv")

# --- uplift, uplift_summary, measure_uplift, simulate_campaign -----------------------------------------

add("uplift", "frame", frames(), lambda v: cv.uplift(v, factor=1.1))
add("uplift", "factor", numbers(0, optional=True), lambda v: cv.uplift(SCORED, factor=v))
add("uplift", "column", columns(SEGMENTED), lambda v: cv.uplift(SEGMENTED, factor=1.1, column=v))
for driver in ("purchase_rate", "spend", "dropout"):
    add("uplift", driver, numbers(0), lambda v, driver=driver: cv.uplift(SCORED, **{driver: v}))
add("uplift", "retention", numbers(-1, 1), lambda v: cv.uplift(SCORED, retention=v))
add("uplift", "cost_per_customer", numbers(0), lambda v: cv.uplift(SCORED, factor=1.1, cost_per_customer=v))
add("uplift", "fixed_cost", numbers(0), lambda v: cv.uplift(SCORED, factor=1.1, fixed_cost=v))
add("uplift", "segment", [("int", 5, TypeError), ("unknown", "Whales", ValueError)],
    lambda v: cv.uplift(SEGMENTED, factor=1.1, segment=v), "segment")
add("uplift", "query", expressions(), lambda v: cv.uplift(SCORED, factor=1.1, query=v))
case("uplift/factor/and_drivers", lambda: cv.uplift(SCORED, factor=1.1, purchase_rate=1.2), ValueError, "factor")
case("uplift/factor/no_change", lambda: cv.uplift(SCORED), ValueError, "factor")
case("uplift/frame/nan_clv", lambda: cv.uplift(SCORED.assign(clv=np.nan), factor=1.1), ValueError, "clv")
case("uplift/purchase_rate/unscored_frame", lambda: cv.uplift(pd.DataFrame({"clv": [1.0]}), purchase_rate=1.1),
     ValueError, "score")
case("uplift/dropout/not_a_knob_of_the_model",
     lambda: cv.uplift(cv.score(cv.summarize(cv.clean(TX_SMALL)), model="historic"), dropout=0.9), ValueError,
     "dropout")
add("measure_uplift", "frame", frames(), lambda v: cv.measure_uplift(v))
add("measure_uplift", "treatment", columns(CAMPAIGN, numeric_required=False),
    lambda v: cv.measure_uplift(CAMPAIGN, treatment=v))
add("measure_uplift", "outcome", columns(CAMPAIGN), lambda v: cv.measure_uplift(CAMPAIGN, outcome=v))
add("measure_uplift", "segment", columns(CAMPAIGN, numeric_required=False)[:4],
    lambda v: cv.measure_uplift(CAMPAIGN, segment=v))
add("measure_uplift", "cost_per_customer", numbers(0), lambda v: cv.measure_uplift(CAMPAIGN, cost_per_customer=v))
add("measure_uplift", "fixed_cost", numbers(0), lambda v: cv.measure_uplift(CAMPAIGN, fixed_cost=v))
add("measure_uplift", "confidence", numbers(0, 1, low_open=True) + [("one", 1.0, ValueError)],
    lambda v: cv.measure_uplift(CAMPAIGN, confidence=v))
add("measure_uplift", "n_boot", numbers(100, whole=True) + [("zero", 0, ValueError)],
    lambda v: cv.measure_uplift(CAMPAIGN, n_boot=v))
add("measure_uplift", "seed", seeds(), lambda v: cv.measure_uplift(CAMPAIGN, seed=v))
case("measure_uplift/outcome/inf", lambda: cv.measure_uplift(CAMPAIGN.assign(revenue=np.inf)), ValueError, "revenue")
case("measure_uplift/outcome/nan", lambda: cv.measure_uplift(CAMPAIGN.assign(revenue=np.nan)), ValueError, "revenue")
case("measure_uplift/outcome/overflow", lambda: cv.measure_uplift(CAMPAIGN.assign(revenue=1e308)), ValueError, "all")
case("measure_uplift/treatment/text", lambda: cv.measure_uplift(CAMPAIGN.assign(treated="yes")), ValueError, "treated")
case("measure_uplift/treatment/missing_values",
     lambda: cv.measure_uplift(CAMPAIGN.assign(treated=CAMPAIGN["treated"].astype(object).where(CAMPAIGN.index > 0))),
     ValueError, "treated")
case("measure_uplift/treatment/one_arm", lambda: cv.measure_uplift(CAMPAIGN.assign(treated=True)), ValueError, "all")
case("measure_uplift/segment/named_all",
     lambda: cv.measure_uplift(CAMPAIGN.assign(segment="all"), segment="segment"), ValueError, "segment")
add("simulate_campaign", "n", numbers(1, whole=True), lambda v: cv.simulate_campaign(v))
add("simulate_campaign", "effect", numbers(0), lambda v: cv.simulate_campaign(100, effect=v))
add("simulate_campaign", "base_rate", numbers(0, 1), lambda v: cv.simulate_campaign(100, base_rate=v))
add("simulate_campaign", "mean_spend", numbers(0, low_open=True), lambda v: cv.simulate_campaign(100, mean_spend=v))
add("simulate_campaign", "treated_share", numbers(0, 1, low_open=True) + [("one", 1.0, ValueError)],
    lambda v: cv.simulate_campaign(100, treated_share=v))
add("simulate_campaign", "segments",
    [("str", "high", TypeError), ("empty", [], TypeError), ("ints", [1, 2], TypeError)],
    lambda v: cv.simulate_campaign(100, segments=v))
add("simulate_campaign", "seed", seeds(), lambda v: cv.simulate_campaign(100, seed=v))

# --- kpis and cohort_retention --------------------------------------------------------------------------

add("kpis", "data", frames(), lambda v: cv.kpis(v))
add("kpis", "start", dates(), lambda v: cv.kpis(TX_SMALL, start=v))
add("kpis", "end", dates(), lambda v: cv.kpis(TX_SMALL, end=v))
add("kpis", "costs", numbers(0, low_open=True, optional=True), lambda v: cv.kpis(TX_SMALL, costs=v))
add("kpis", "columns", mappings(), lambda v: cv.kpis(TX_SMALL, columns=v))
case("kpis/end/before_start", lambda: cv.kpis(TX_SMALL, "1998-01-01", "1997-01-01"), ValueError, "end")
case("kpis/start/no_transactions", lambda: cv.kpis(TX_SMALL, "2005-01-01", "2005-02-01"), ValueError, "2005-01-01")
case("kpis/start/on_customers", lambda: cv.kpis(SCORED, start="1997-01-01"), ValueError, "start")
for column, value in (("date", pd.NaT), ("amount", np.nan), ("amount", np.inf), ("customer_id", np.nan)):
    bad_tx = TX_SMALL.astype({column: TX_SMALL[column].dtype if column == "date" else float})
    bad_tx.loc[5, column] = value
    case(f"kpis/data/{column}_{value}", lambda bad_tx=bad_tx: cv.kpis(bad_tx), ValueError, column)
case("kpis/data/clv_nan", lambda: cv.kpis(SCORED.assign(clv=np.nan)), ValueError, "clv")
case("kpis/data/p_alive_nan", lambda: cv.kpis(SCORED.assign(p_alive=np.nan)), ValueError, "p_alive")
case("kpis/data/no_value_column", lambda: cv.kpis(SUMMARY.drop(columns="total_value")), KeyError, "total_value")
case("kpis/data/dates_unreadable", lambda: cv.kpis(TX_SMALL.assign(date="someday")), ValueError, "date")
add("cohort_retention", "tx", frames(), lambda v: cv.cohort_retention(v))
add("cohort_retention", "period", choices(["M", "Q"]), lambda v: cv.cohort_retention(TX_SMALL, period=v))
add("cohort_retention", "columns", mappings(), lambda v: cv.cohort_retention(TX_SMALL, columns=v))
case("cohort_retention/tx/nat_dates", lambda: cv.cohort_retention(TX_SMALL.assign(date=pd.NaT)), ValueError, "date")

# --- evaluate, compare_models, tracking -----------------------------------------------------------------

add("evaluate", "model", models("purchase")[:2] + [("object", object(), TypeError)],
    lambda v: cv.evaluate(v, CALHOLD), "model")
add("evaluate", "calhold", frames(), lambda v: cv.evaluate("bgnbd", v))
add("evaluate", "spend_model", models("spend"), lambda v: cv.evaluate("bgnbd", CALHOLD, spend_model=v), "spend_model")
add("evaluate", "max_frequency", numbers(0, whole=True), lambda v: cv.evaluate(MODEL, CALHOLD, max_frequency=v))
case("evaluate/calhold/a_summary", lambda: cv.evaluate("bgnbd", SUMMARY), KeyError, "calhold")
case("evaluate/calhold/nan_holdout",
     lambda: cv.evaluate(MODEL, CALHOLD.assign(frequency_holdout=np.where(np.arange(len(CALHOLD)) == 0, np.nan, 1))),
     ValueError, "frequency_holdout")
case("evaluate/calhold/fractional_holdout", lambda: cv.evaluate(MODEL, CALHOLD.assign(frequency_holdout=0.5)),
     ValueError, "frequency_holdout")
case("evaluate/calhold/durations_differ",
     lambda: cv.evaluate(MODEL, CALHOLD.assign(duration_holdout=np.arange(len(CALHOLD)) + 1.0)), ValueError,
     "duration_holdout")
case("evaluate/calhold/no_holdout_purchases", lambda: cv.evaluate(MODEL, CALHOLD.assign(frequency_holdout=0)),
     ValueError, "calhold")
case("evaluate/model/without_conditional_ability", lambda: cv.evaluate("historic", CALHOLD), ValueError, "historic")
add("compare_models", "calhold", frames(), lambda v: cv.compare_models(v, ["bgnbd"]))
add("compare_models", "models", [("empty", [], ValueError), ("str", "bgnbd", TypeError), ("int", 5, TypeError),
                                 ("unknown", ["bgnbd", "nope"], ValueError), ("spend", ["gammagamma"], ValueError),
                                 ("none", None, TypeError)],
    lambda v: cv.compare_models(CALHOLD, v), "models")
add("compare_models", "metric", choices(["mae", "bic"]), lambda v: cv.compare_models(CALHOLD, ["bgnbd"], metric=v))
add("tracking", "model", [("name", "bgnbd", TypeError), ("unfitted", cv.models.get("bgnbd"), ValueError),
                          ("spend_model", SPEND, ValueError), ("none", None, TypeError)],
    lambda v: cv.tracking(v, TX_SMALL), "model", "BetaGeo", "GammaGamma")
add("tracking", "transactions", frames(), lambda v: cv.tracking(MODEL, v))
add("tracking", "unit", choices(["W", "D"]), lambda v: cv.tracking(MODEL, TX_SMALL, unit=v))
add("tracking", "period", [("unknown", "fortnight", ValueError), ("int", 7, TypeError)],
    lambda v: cv.tracking(MODEL, TX_SMALL, period=v))
add("tracking", "columns", mappings(), lambda v: cv.tracking(MODEL, TX_SMALL, columns=v))

# --- validate, read_csv, datasets ------------------------------------------------------------------------

add("validate", "frame", frames()[:6], lambda v: cv.validate(v, cv.CustomerSummary))
add("validate", "schema", [("str", "CustomerSummary", TypeError), ("none", None, TypeError),
                           ("class", dict, TypeError)], lambda v: cv.validate(SUMMARY, v))
add("read_csv", "path",
    [("int", 42, TypeError), ("none", None, TypeError), ("missing", "/no/such/file.csv", ValueError)],
    lambda v: cv.read_csv(v))
add("load_cdnow", "sample", booleans(), lambda v: cv.datasets.load_cdnow(sample=v))
add("data_path", "filename", [("int", 5, TypeError), ("empty", "", ValueError),
                              ("folder", "../../etc/passwd", ValueError), ("dots", "..", ValueError)],
    lambda v: cv.datasets.data_path(v))

# --- plots ----------------------------------------------------------------------------------------------

NOT_A_MODEL = [("name", "bgnbd", TypeError), ("none", None, TypeError), ("frame", SCORED, TypeError)]
NOT_AXES = [("str", "ax", TypeError), ("int", 1, TypeError)]
for name in ("frequency_recency_matrix", "p_alive_matrix"):
    function = getattr(plotting, name)
    add(f"plot.{name}", "model", NOT_A_MODEL, lambda v, function=function: function(v))
    case(f"plot.{name}/model/spend_model", lambda function=function: function(SPEND), ValueError, "GammaGamma")
    case(f"plot.{name}/model/unfitted", lambda function=function: function(cv.models.get("bgnbd")), ValueError,
         "fit")
    add(f"plot.{name}", "T", numbers(0, low_open=True, optional=True),
        lambda v, function=function: function(MODEL, T=v))
    add(f"plot.{name}", "max_frequency", numbers(1, 1000, whole=True),
        lambda v, function=function: function(MODEL, max_frequency=v))
    add(f"plot.{name}", "ax", NOT_AXES, lambda v, function=function: function(MODEL, ax=v))
add("plot.frequency_recency_matrix", "t", numbers(0, low_open=True),
    lambda v: plotting.frequency_recency_matrix(MODEL, t=v))
add("plot.calibration_vs_holdout", "evaluation", [("frame", CALHOLD, TypeError), ("none", None, TypeError),
                                                  ("model", MODEL, TypeError)],
    lambda v: plotting.calibration_vs_holdout(v))
add("plot.tracking", "track", frames()[:6] + [("scored", SCORED, KeyError)], lambda v: plotting.tracking(v))
add("plot.tracking", "cumulative", booleans(), lambda v: plotting.tracking(TRACK, cumulative=v))
add("plot.period_transactions", "model", NOT_A_MODEL, lambda v: plotting.period_transactions(v, SUMMARY))
add("plot.period_transactions", "summary", frames()[:6] + [("calhold", CALHOLD, KeyError)],
    lambda v: plotting.period_transactions(MODEL, v))
add("plot.period_transactions", "max_frequency", numbers(1, 1000, whole=True),
    lambda v: plotting.period_transactions(MODEL, SUMMARY, max_frequency=v))
add("plot.period_transactions", "seed", seeds(), lambda v: plotting.period_transactions(MODEL, SUMMARY, seed=v))
add("plot.clv_distribution", "scored", frames(), lambda v: plotting.clv_distribution(v))
add("plot.clv_distribution", "column", columns(SEGMENTED), lambda v: plotting.clv_distribution(SEGMENTED, column=v))
add("plot.clv_distribution", "bins", numbers(1, 10_000, whole=True),
    lambda v: plotting.clv_distribution(SCORED, bins=v))
add("plot.clv_distribution", "clip_quantile", numbers(0, 1, low_open=True),
    lambda v: plotting.clv_distribution(SCORED, clip_quantile=v))
case("plot.clv_distribution/scored/nan_clv", lambda: plotting.clv_distribution(SCORED.assign(clv=np.nan)), ValueError,
     "clv")
add("plot.lorenz", "scored", frames(), lambda v: plotting.lorenz(v))
add("plot.lorenz", "column", columns(SEGMENTED), lambda v: plotting.lorenz(SEGMENTED, column=v))
case("plot.lorenz/scored/all_zero", lambda: plotting.lorenz(SCORED.assign(clv=0.0)), ValueError, "column")
add("plot.segments", "segmented", frames()[:6] + [("unsegmented", SCORED, KeyError)], lambda v: plotting.segments(v))
add("plot.rfm_heatmap", "segmented", frames()[:6] + [("unsegmented", SCORED, KeyError)],
    lambda v: plotting.rfm_heatmap(v))
add("plot.rfm_heatmap", "value", columns(SEGMENTED), lambda v: plotting.rfm_heatmap(SEGMENTED, value=v))
add("plot.cohort_retention", "matrix", frames()[:6] + [("text", pd.DataFrame({"a": ["x"]}), TypeError)],
    lambda v: plotting.cohort_retention(v))
add("plot.uplift_by_segment", "measured", frames()[:6] + [("scored", SCORED, KeyError)],
    lambda v: plotting.uplift_by_segment(v))
case("plot.uplift_by_segment/measured/nan_lift", lambda: plotting.uplift_by_segment(MEASURED.assign(lift=np.nan)),
     ValueError, "lift")
add("plot.lorenz", "ax", NOT_AXES, lambda v: plotting.lorenz(SCORED, ax=v))

IDS = [c.id for c in CASES]
assert len(IDS) == len(set(IDS)), sorted({i for i in IDS if IDS.count(i) > 1})


@pytest.mark.parametrize("bad", CASES, ids=IDS)
def test_bad_input_gets_a_custvalue_error_naming_the_parameter(bad):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw numpy/pandas warning either
        warnings.simplefilter("ignore", cv.uplift.__globals__["UpliftWarning"])
        with pytest.raises(CustValueError) as caught:
            bad.call()
    error = caught.value
    assert isinstance(error, bad.builtin), f"{type(error).__name__} is not a {bad.builtin.__name__}: {error}"
    message = str(error)
    assert any(name in message for name in bad.names), f"the message names none of {bad.names}: {message}"


def test_the_catalogue_is_large():
    assert len(CASES) >= 500
    functions = {c.id.split("/")[0] for c in CASES}
    assert {"clean", "summarize", "calibration_holdout", "score", "segment", "segment_summary", "filter", "kpis",
            "cohort_retention", "uplift", "uplift_summary", "measure_uplift", "simulate_campaign", "evaluate",
            "compare_models", "tracking", "validate", "cleaning_report", "fitted_models", "load_cdnow",
            "data_path", "read_csv"} <= functions
    assert sum(f.startswith("plot.") for f in functions) == 11


def test_no_floating_point_exception_escapes_a_step():
    old = np.seterr(all="raise")
    try:
        scored = cv.score(SUMMARY, horizon=39, discount_rate=0.01)
        cv.segment(scored, method="lifecycle")
        cv.uplift(cv.segment(scored, method="rfm"), segment="At Risk", purchase_rate=1.2, cost_per_customer=0.1)
        cv.kpis(scored)
        cv.filter_customers(scored, query="log(clv) > 1 and clv / frequency > 2")
    finally:
        np.seterr(**old)


def test_the_callers_frames_are_never_changed():
    before = SCORED.copy(deep=True)
    for bad in CASES[:200]:
        with contextlib.suppress(Exception):  # every case raises; the frames must still be as they were
            bad.call()
    pd.testing.assert_frame_equal(SCORED, before)


# --- the calls the messages suggest work -----------------------------------------------------------------


def suggested(message: str, after: str) -> str:
    """The code the message gives after ``after`` (up to the end of the line or a '; ')."""
    start = message.index(after) + len(after)
    return re.split(r";\s|\n|\)$(?![^(]*\))", message[start:])[0].strip()


def test_mixed_date_formats_suggest_a_date_format_that_works():
    tx = pd.DataFrame({"customer_id": [1, 1, 2], "date": ["01/02/2024", "13/02/2024", "2024-03-01"],
                       "amount": [1.0, 2.0, 3.0]})
    with pytest.raises(cv.SchemaError) as caught:
        cv.clean(tx)
    call = re.search(r"e\.g\. (custvalue\.clean\(tx, date_format='[^']+'\))", str(caught.value)).group(1)
    out = eval(call, {"custvalue": cv, "tx": tx})  # the message's own call
    assert out["date"].tolist() == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-13")]
    assert cv.cleaning_report(out).dropped["unparseable_date"] == 1
    mixed = cv.clean(tx, date_format="mixed")  # the other way out the message names
    assert len(mixed) == 3


def test_multiindex_and_duplicated_columns_suggest_statements_that_work():
    df = TX_SMALL.copy()
    df.columns = pd.MultiIndex.from_tuples([("x", c) for c in df.columns])
    with pytest.raises(cv.SchemaError) as caught:
        cv.clean(df)
    statement = re.search(r"e\.g\. (df\.columns = .*)$", str(caught.value)).group(1)
    exec(statement, {"df": df})
    out = cv.clean(df, columns={"x_customer_id": "customer_id", "x_date": "date", "x_amount": "amount"})
    assert len(out) > 0
    dup = SCORED.copy()
    dup.columns = ["a"] * len(dup.columns)
    with pytest.raises(cv.SchemaError) as caught:
        cv.segment(dup)
    exec(re.search(r"e\.g\. (df\.columns = .*)$", str(caught.value)).group(1), {"df": dup})
    assert dup.columns.is_unique


def test_missing_columns_suggest_the_mapping(tmp_path):
    tx = TX_SMALL.rename(columns={"customer_id": "customer"})
    with pytest.raises(KeyError, match=r"did you mean 'customer'\?") as caught:
        cv.clean(tx)
    call = re.search(r"How to fix: (custvalue\.clean\(.*\))$", str(caught.value)).group(1)
    assert call == "custvalue.clean(tx, columns={'customer': 'customer_id'})"
    assert len(eval(call, {"custvalue": cv, "tx": tx})) > 0


def test_float_ids_beyond_2_53_suggest_reading_them_as_text(tmp_path):
    path = tmp_path / "tx.csv"
    # An id column with a gap is read as floats: 17-digit ids then lose their last digit, and two customers merge.
    path.write_text("customer_id,date,amount\n12345678901234567,2024-01-02,5\n12345678901234568,2024-01-03,6\n"
                    ",2024-01-04,7\n")
    assert pd.read_csv(path)["customer_id"].nunique() == 1
    with pytest.raises(cv.SchemaError) as caught:
        cv.clean(pd.read_csv(path))
    call = re.search(r"e\.g\. (pandas\.read_csv\(path, dtype=\{'customer_id': str\}\))", str(caught.value)).group(1)
    out = cv.clean(eval(call, {"pandas": pd, "path": path}))
    assert out["customer_id"].tolist() == ["12345678901234567", "12345678901234568"]


def test_kmeans_on_two_customers_suggests_a_k_that_works():
    with pytest.raises(cv.InvalidParameterError, match=r"pass k=1 or k=2"):
        cv.segment(SCORED.head(2), method="kmeans")
    assert cv.segment(SCORED.head(2), method="kmeans", k=2)["segment"].nunique() == 2


def test_duplicated_summary_ids_suggest_dropping_them():
    summary = pd.concat([SUMMARY, SUMMARY.head(3)])
    with pytest.raises(cv.SchemaError) as caught:
        cv.score(summary)
    statement = suggested(str(caught.value), "or drop the duplicates: ")
    assert len(cv.score(eval(statement, {"summary": summary}))) == len(SUMMARY)


def test_errors_that_say_run_clean_first_are_right():
    bad = TX_SMALL.copy()
    bad.loc[3, "amount"] = np.nan
    with pytest.raises(cv.SchemaError, match=r"run custvalue\.clean\(tx\) first"):
        cv.summarize(bad)
    assert len(cv.summarize(cv.clean(bad))) > 0
    with pytest.raises(cv.InvalidParameterError, match=r"Run custvalue\.clean\(tx\) first"):
        cv.cleaning_report(TX_SMALL)
    assert cv.cleaning_report(cv.clean(TX_SMALL)).rows_in == len(TX_SMALL)


def test_text_numbers_suggest_the_number():
    with pytest.raises(cv.InvalidParameterError, match=r"\(e\.g\. intervals=0\.9\)"):
        cv.score(SUMMARY, intervals="0.9")
    assert "clv_lower" in cv.score(SUMMARY, intervals=0.9, interval_draws=10).columns


def test_a_numeric_query_suggests_a_comparison_that_works():
    with pytest.raises(cv.InvalidParameterError) as caught:
        cv.filter_customers(SCORED, query="clv + 1")
    query = re.search(r"e\.g\. query='([^']+)'", str(caught.value)).group(1)
    assert len(cv.filter_customers(SCORED, query=query)) == len(SCORED)


def test_roi_without_cost_is_none_with_a_note_that_works():
    summary = cv.uplift_summary(cv.uplift(SCORED, factor=0.5))
    assert summary.roi is None and "pass cost_per_customer= or fixed_cost=" in summary.note
    assert "Note: ROI is undefined" in str(summary)
    with_cost = cv.uplift_summary(cv.uplift(SCORED, factor=0.5, cost_per_customer=1.0))
    assert with_cost.roi == pytest.approx((with_cost.incremental_value - len(SCORED)) / len(SCORED))
    assert with_cost.incremental_value < 0 and with_cost.roi < -1  # a loss: negative ROI, never inf


def test_plots_suggest_the_step_or_column_that_works():
    with pytest.raises(KeyError, match=r"pass column='total_value'"):
        plotting.lorenz(SUMMARY)
    assert plotting.lorenz(SUMMARY, column="total_value").get_title().startswith("Value concentration")
    with pytest.raises(KeyError, match=r"run custvalue\.segment first"):
        plotting.segments(SCORED)
    assert plotting.segments(cv.segment(SCORED, method="value_tiers")).get_title()


def test_penalizer_reaches_the_fits_score_makes():
    plain = cv.fitted_models(cv.score(SUMMARY, horizon=39))
    penalized = cv.fitted_models(cv.score(SUMMARY, horizon=39, penalizer=0.001))
    assert penalized["model"].penalizer == 0.001 and penalized["spend_model"].penalizer == 0.001
    # An L2 penalty on the parameters shrinks them: the fits differ from the unpenalized ones.
    assert not np.allclose(penalized["model"].params_, plain["model"].params_)
    accessor = cv.fitted_models(SUMMARY.cv.score(horizon=39, penalizer=0.0001))  # generated from score's signature
    assert accessor["model"].penalizer == 0.0001
    unfitted = cv.models.get("bgnbd")
    cv.score(SUMMARY, model=unfitted, spend_model=None, penalizer=0.01)
    assert unfitted.penalizer == 0.0 and not unfitted.is_fitted  # the caller's model is left alone


class InfiniteForOneTimers(cv.models.GammaGamma):
    """A spend model whose predictions are infinite for customers without repeat purchases."""

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        spend = super().expected_spend(summary)
        return spend.where(summary["frequency"].to_numpy() > 0, np.inf)


def test_scores_that_are_not_finite_are_refused_with_the_customers_and_models():
    spend = InfiniteForOneTimers.from_params(p=6.25, q=3.74, v=15.44)
    with pytest.raises(cv.SchemaError) as caught:
        cv.score(SUMMARY, horizon=39, spend_model=spend)
    message = str(caught.value)
    one_timers = int((SUMMARY["frequency"] == 0).sum())
    assert message.startswith(f"column 'expected_spend' breaks the rule 'finite prediction' in {one_timers} row(s)")
    assert f"{one_timers} of {len(SUMMARY)} customers get no finite expected_spend" in message
    assert "InfiniteForOneTimers()  fitted: p=6.25" in message
