"""Segment customers: value tiers, RFM named segments, lifecycle stages, k-means, your own rules.

Every method returns a copy of the frame with a ``segment`` column (an
ordered pandas Categorical whose categories are documented per method) and
keeps every other column, and the fitted models it carries.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from custvalue.checks import (
    check_bool,
    check_callable_or_text,
    check_choice,
    check_column,
    check_frame,
    check_int,
    check_labels,
    check_names,
    check_number,
    check_numbers,
    check_range,
    check_seed,
    check_values,
    invalid,
)
from custvalue.errors import CustValueError, InvalidParameterError, MissingColumnError
from custvalue.expressions import boolean_mask

__all__ = ["segment", "segment_summary", "SegmentTable", "rank_scores", "RFM_SEGMENTS", "LIFECYCLE_STAGES",
           "value_column"]

# The common public RF grid (REFERENCE): segment -> (R scores, F scores), 5 = best.
RFM_SEGMENTS: dict[str, dict[str, tuple[int, int]]] = {
    "Champions": {"r": (5, 5), "f": (4, 5)},
    "Loyal Customers": {"r": (3, 4), "f": (4, 5)},
    "Potential Loyalists": {"r": (4, 5), "f": (2, 3)},
    "New Customers": {"r": (5, 5), "f": (1, 1)},
    "Promising": {"r": (4, 4), "f": (1, 1)},
    "Need Attention": {"r": (3, 3), "f": (3, 3)},
    "About to Sleep": {"r": (3, 3), "f": (1, 2)},
    "Can't Lose Them": {"r": (1, 2), "f": (5, 5)},
    "At Risk": {"r": (1, 2), "f": (3, 4)},
    "Hibernating": {"r": (1, 2), "f": (1, 2)},
}
LIFECYCLE_STAGES = ("prospect", "new", "active", "loyal", "at risk", "churned")
OTHER = "Other"
METHODS = ("value_tiers", "rfm", "lifecycle", "kmeans", "rules")


def value_column(frame: pd.DataFrame, preferred: str | None = None, name: str = "value") -> str:
    """The numeric value column to use: ``preferred`` (the argument ``name``), else ``clv``, else ``total_value``.

    Examples
    --------
    >>> value_column(pd.DataFrame({"total_value": [1.0]}))
    'total_value'
    """
    if preferred is not None:
        return check_column(frame, preferred, name, numeric=True)
    for column in ("clv", "total_value"):
        if column in frame.columns:
            return check_column(frame, column, name, numeric=True)
    raise MissingColumnError(
        "no value column: segmenting by value needs 'clv' (run custvalue.score first) or 'total_value' "
        f"(run custvalue.summarize), or pass {name}='your_column'"
    )


def segment(frame: pd.DataFrame, method: str = "rfm", **options: Any) -> pd.DataFrame:
    """Add a ``segment`` column (ordered Categorical) by one of five methods.

    Parameters
    ----------
    frame : DataFrame
        A customer summary or scored frame (one row per customer). Never modified.
    method : {"value_tiers", "rfm", "lifecycle", "kmeans", "rules"}
        * ``"value_tiers"`` — tiers of a value column by quantile. Options:
          ``value`` (default ``clv``, else ``total_value``), ``quantiles``
          (cut points in (0, 1), default thirds) or ``bins`` (cut values),
          ``labels`` (default low / mid / high). Customers with equal value
          share a tier.
        * ``"rfm"`` — R, F and M scores 1–5 by rank, fifths as equal as ties
          allow (``r_score``, ``f_score``, ``m_score``, ``rfm_score`` like
          "545"), and named segments from the RF grid :data:`RFM_SEGMENTS`.
          R is the time since the last purchase (``T − recency``), most
          recent = 5. Equal values share a score, whatever the row order, and
          every score is used when there are five distinct values or more
          (see :func:`rank_scores` for the tie rule). Option
          ``rules``: your own mapping of name to score ranges, e.g.
          ``{"VIP": {"r": (4, 5), "m": (5, 5)}}``, first match wins; customers
          no rule matches are "Other".
        * ``"lifecycle"`` — :data:`LIFECYCLE_STAGES`, see :func:`lifecycle_stage`.
        * ``"kmeans"`` — clusters of standardized ``features`` by SciPy's
          k-means, labelled C1..Ck by increasing mean ``value``. Options:
          ``k`` (default: chosen by silhouette among 2..``max_k``),
          ``max_k`` (default 8), ``features``, ``value``, ``seed``.
        * ``"rules"`` — ``rules``: mapping of name to an expression string
          in custvalue's safe expression language (see
          :mod:`custvalue.expressions`: columns, numbers, comparisons,
          and/or/not, arithmetic, ``in [...]``, a few functions; never Python
          code) or a callable returning one True/False per customer; first
          match wins, others are "Other".

    Returns
    -------
    DataFrame
        A copy with ``segment`` (and the per-method score columns).

    Raises
    ------
    custvalue.errors.InvalidParameterError
        For an unknown method or option, or an option of the wrong type or value (naming it).
    custvalue.errors.SchemaError
        For a column the method needs that is missing (a ``KeyError`` too), not numeric, or
        holds missing or infinite values.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"clv": [5.0, 50.0, 500.0, 20.0, 200.0, 80.0]})
    >>> segment(df, method="value_tiers")["segment"].tolist()
    ['low', 'mid', 'high', 'low', 'high', 'mid']
    >>> rules = {"big": "clv >= 100", "small": lambda d: d["clv"] < 10}
    >>> segment(df, method="rules", rules=rules)["segment"].tolist()
    ['small', 'Other', 'big', 'Other', 'big', 'Other']
    """
    frame = check_frame(frame, "frame")
    method = check_choice(method, "method", list(METHODS))
    makers: dict[str, Callable[..., pd.DataFrame]] = {
        "value_tiers": _value_tiers, "rfm": _rfm, "lifecycle": _lifecycle, "kmeans": _kmeans, "rules": _rules,
    }
    maker = makers[method]
    known = [p for p in inspect.signature(maker).parameters if p != "frame"]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InvalidParameterError(f"segment(method={method!r}) has no option(s) {unknown}; its options are {known}")
    return maker(frame, **options)


def _categorical(labels: Sequence | np.ndarray, categories: Sequence[str], index: pd.Index) -> pd.Series:
    return pd.Series(pd.Categorical(labels, categories=list(categories), ordered=True), index=index)


def _value_tiers(frame: pd.DataFrame, value: str | None = None, quantiles: Sequence[float] | None = None,
                 bins: Sequence[float] | None = None, labels: Sequence[str] | None = None) -> pd.DataFrame:
    column = value_column(frame, value)
    values = pd.Series(check_values(frame, column), index=frame.index)
    if quantiles is not None and bins is not None:
        raise InvalidParameterError(f"quantiles={quantiles!r} and bins={bins!r}: pass one of them, not both")
    if bins is not None:
        edges = [-np.inf, *check_numbers(bins, "bins"), np.inf]
    else:
        cuts = ([1 / 3, 2 / 3] if quantiles is None else
                check_numbers(quantiles, "quantiles", low=0, high=1, low_open=True, high_open=True))
        edges = [-np.inf, *cuts, np.inf]
        values = values.rank(method="max", pct=True)  # equal values share a tier
    n_tiers = len(edges) - 1
    tiers = (check_labels(labels, "labels", n_tiers) if labels is not None else
             ["low", "mid", "high"] if n_tiers == 3 else [f"tier {i + 1}" for i in range(n_tiers)])
    codes = pd.cut(values, edges, labels=False, right=True)
    return frame.assign(segment=_categorical(np.asarray(tiers, dtype=object)[codes.to_numpy()], tiers, frame.index))


def _summary_values(frame: pd.DataFrame, purpose: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """frequency, recency and T, checked (present, numeric, finite, >= 0)."""
    missing = [c for c in ("frequency", "recency", "T") if c not in frame.columns]
    if missing:
        raise MissingColumnError(f"{purpose} need frequency, recency and T; the frame lacks {missing} "
                                 "(run custvalue.summarize or custvalue.score first)")
    fix = "run custvalue.summarize on clean transactions (custvalue.clean) to get valid summaries"
    return tuple(check_values(frame, c, low=0, fix=fix) for c in ("frequency", "recency", "T"))  # type: ignore[return-value]


def rank_scores(values: pd.Series | np.ndarray | Sequence[float], n_scores: int = 5) -> np.ndarray:
    """Scores 1..``n_scores`` by rank, higher values scoring higher, as equal in size as ties allow.

    Tie rule: customers with equal values always share a score, so scores never depend on row
    order. Scores are given from the lowest value up: each takes the next distinct values until
    its size is as close as it can be to an equal share of the customers not yet scored (a fifth
    of all for score 1), and it stops early when it must leave one distinct value for each score
    still to give. So with at least ``n_scores`` distinct values every score is used, even when
    most customers tie (say, on frequency 0); with fewer, the distinct values are spread over the
    scale, the lowest scoring 1 and the highest ``n_scores``.

    Examples
    --------
    >>> rank_scores(pd.Series([0, 0, 0, 1, 2, 3, 4, 5, 6, 9])).tolist()
    [1, 1, 1, 2, 2, 3, 3, 4, 5, 5]
    >>> rank_scores(pd.Series([0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 7])).tolist()   # most tie at 0, every score used
    [1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 5]
    >>> rank_scores(pd.Series([0, 0, 0, 3])).tolist()   # two distinct values: the lowest and highest score
    [1, 1, 1, 5]
    """
    n_scores = check_int(n_scores, "n_scores", low=1)
    try:
        numbers = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise invalid("values", values, "they must be numbers, e.g. summary['frequency']") from None
    if not np.isfinite(numbers).all():
        raise invalid("values", values, "they must be finite numbers: drop or fill missing values first")
    distinct, position, counts = np.unique(numbers, return_inverse=True, return_counts=True)
    d = len(distinct)
    if d < n_scores:
        spread = 1 + np.rint(np.arange(d) * (n_scores - 1) / max(d - 1, 1)).astype(np.int64)
        return spread[position.ravel()]
    cumulative = np.cumsum(counts)
    n = cumulative[-1]
    score_of = np.empty(d, dtype=np.int64)
    start, done = 0, 0
    for score in range(1, n_scores):
        target = done + (n - done) / (n_scores - score + 1)
        last = min(max(int(np.searchsorted(cumulative, target)), start), d - 1 - (n_scores - score))
        if last > start and abs(cumulative[last - 1] - target) <= abs(cumulative[last] - target):
            last -= 1  # stopping one value earlier is as close to the equal share, or closer
        score_of[start:last + 1] = score
        start, done = last + 1, cumulative[last]
    score_of[start:] = n_scores
    return score_of[position.ravel()]


def _rfm(frame: pd.DataFrame, rules: Mapping[str, Mapping[str, tuple[int, int]]] | None = None) -> pd.DataFrame:
    _summary_values(frame, "rfm segments")
    has_m = "monetary_value" in frame.columns
    if has_m:
        check_values(frame, "monetary_value")
    grid = RFM_SEGMENTS if rules is None else _check_score_rules(rules, has_m)
    out = frame.assign(
        r_score=rank_scores(-(frame["T"] - frame["recency"])),  # less time since last purchase is better
        f_score=rank_scores(frame["frequency"]),
    )
    letters = out["r_score"].astype(str) + out["f_score"].astype(str)
    if "monetary_value" in frame.columns:
        out["m_score"] = rank_scores(frame["monetary_value"])
        letters = letters + out["m_score"].astype(str)
    out["rfm_score"] = letters
    return out.assign(segment=score_segments(out, grid))


def score_segments(scores: pd.DataFrame, grid: Mapping[str, Mapping[str, tuple[int, int]]]) -> pd.Series:
    """Name each row by the first rule of ``grid`` its ``r_score``/``f_score``/``m_score`` fall in, else "Other"."""
    labels = np.full(len(scores), OTHER, dtype=object)
    unassigned = np.ones(len(scores), dtype=bool)
    for name, ranges in grid.items():
        match = unassigned.copy()
        for letter, (low, high) in ranges.items():
            values = scores[f"{letter}_score"].to_numpy()
            match &= (values >= low) & (values <= high)
        labels[match] = name
        unassigned &= ~match
    return _categorical(labels, [*grid, OTHER], scores.index)


def _check_score_rules(rules: object, has_m: bool) -> dict[str, dict[str, tuple[int, int]]]:
    example = "rules={'VIP': {'r': (4, 5), 'f': (4, 5)}}"
    if not isinstance(rules, Mapping) or not rules:
        raise invalid("rules", rules, f"it must map segment names to score ranges, e.g. {example}")
    checked: dict[str, dict[str, tuple[int, int]]] = {}
    letters = ("r", "f", "m") if has_m else ("r", "f")
    for name, ranges in rules.items():
        _check_segment_name(name)
        if not isinstance(ranges, Mapping) or not ranges:
            raise invalid(f"rules[{name!r}]", ranges, f"it must map {letters} to a (low, high) score range, "
                          f"e.g. {example}")
        checked[name] = {}
        for letter, bounds in ranges.items():
            if letter not in letters:
                raise invalid(f"rules[{name!r}]", ranges, f"{letter!r} is not a score; use {letters}"
                              + ("" if has_m else " (m needs a monetary_value column)"))
            low, high = check_range(bounds, f"rules[{name!r}][{letter!r}]", low=1, high=5)
            if low != int(low) or high != int(high):
                raise invalid(f"rules[{name!r}][{letter!r}]", bounds, "scores are whole numbers 1..5")
            checked[name][letter] = (int(low), int(high))
    return checked


def _check_segment_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise invalid("rules", name, "each segment name must be a non-empty string")
    if name == OTHER:
        raise invalid("rules", name, f"{OTHER!r} names the customers no rule matches; call your segment otherwise")
    return name


def lifecycle_stage(frame: pd.DataFrame, thresholds: Mapping[str, float] | None = None) -> pd.Series:
    """Lifecycle stage per customer; first match in this order.

    Let ``gap`` be the typical time between purchases (the median of
    ``recency / frequency`` over repeat buyers) and ``idle = T − recency``.

    * prospect — no purchase yet (``n_transactions == 0``, where that column exists);
    * new — one purchase only, made within ``new_within`` (default ``2·gap``);
    * churned — P(alive) < ``churned_p_alive`` (0.1) when scored, else idle > ``churned_after`` (``4·gap``);
    * at risk — P(alive) < ``at_risk_p_alive`` (0.5) when scored, else idle > ``at_risk_after`` (``2·gap``);
    * loyal — ``frequency >= loyal_frequency`` (default: the 75th percentile among repeat buyers, at least 3);
    * active — everyone else.

    Examples
    --------
    >>> df = pd.DataFrame({"frequency": [0, 4, 2, 6], "recency": [0.0, 10.0, 4.0, 30.0], "T": [2.0, 40.0, 30.0, 31.0],
    ...                    "p_alive": [0.9, 0.05, 0.3, 0.95]})
    >>> lifecycle_stage(df).tolist()
    ['new', 'churned', 'at risk', 'loyal']
    """
    thresholds = _check_thresholds(thresholds)
    x, recency, T = _summary_values(frame, "lifecycle stages")
    repeat = x > 0
    gap = float(np.median(recency[repeat] / x[repeat])) if repeat.any() else float(np.median(T))
    new_within = thresholds.get("new_within", 2 * gap)
    idle = T - recency
    if "p_alive" in frame.columns:
        alive = check_values(frame, "p_alive", low=0, high=1,
                             fix="score the customers again (custvalue.score) or drop the p_alive column")
        churned = alive < thresholds.get("churned_p_alive", 0.1)
        at_risk = alive < thresholds.get("at_risk_p_alive", 0.5)
    else:
        churned = idle > thresholds.get("churned_after", 4 * gap)
        at_risk = idle > thresholds.get("at_risk_after", 2 * gap)
    default_loyal = max(3.0, float(np.quantile(x[repeat], 0.75))) if repeat.any() else 3.0
    loyal_cut = thresholds.get("loyal_frequency", default_loyal)
    prospect = np.zeros(len(x), dtype=bool)
    if "n_transactions" in frame.columns:
        prospect = frame["n_transactions"].to_numpy() == 0
    stage = np.select(
        [prospect, (x == 0) & (T <= new_within), churned, at_risk, x >= loyal_cut],
        ["prospect", "new", "churned", "at risk", "loyal"],
        default="active",
    )
    return _categorical(stage, LIFECYCLE_STAGES, frame.index)


def _check_thresholds(thresholds: object) -> dict[str, float]:
    known = ("new_within", "churned_after", "at_risk_after", "churned_p_alive", "at_risk_p_alive", "loyal_frequency")
    if thresholds is None:
        return {}
    if not isinstance(thresholds, Mapping):
        raise invalid("thresholds", thresholds, f"it must be a dict of thresholds, e.g. {{'churned_p_alive': 0.2}}; "
                      f"known: {list(known)}")
    unknown = sorted(map(str, set(thresholds) - set(known)))
    if unknown:
        raise invalid("thresholds", thresholds, f"unknown threshold(s) {unknown}; known: {list(known)}")
    return {key: check_number(value, f"thresholds[{key!r}]", low=0, high=1 if key.endswith("p_alive") else None)
            for key, value in thresholds.items()}


def _lifecycle(frame: pd.DataFrame, thresholds: Mapping[str, float] | None = None) -> pd.DataFrame:
    return frame.assign(segment=lifecycle_stage(frame, thresholds))


def _kmeans(frame: pd.DataFrame, k: int | None = None, features: Sequence[str] | None = None, value: str | None = None,
            seed: int | None = 0, max_k: int = 8) -> pd.DataFrame:
    from scipy.cluster.vq import kmeans2

    if features is None:
        features = [c for c in ("frequency", "recency", "T", "monetary_value", "clv", "p_alive") if c in frame.columns]
        if not features:
            raise MissingColumnError("kmeans needs numeric features: pass features=['col', ...] or segment a "
                                     "summary or scored frame")
    features = check_names(features, "features")
    for column in features:
        check_column(frame, column, "features", numeric=True)
    data = np.column_stack([check_values(frame, column) for column in features])
    max_k = check_int(max_k, "max_k", low=2)
    seed = check_seed(seed)
    n = len(frame)
    if k is not None:
        k = check_int(k, "k", low=1, high=n)
    elif n < 3:
        raise InvalidParameterError(f"k=None chooses the number of clusters among 2..{max_k} by silhouette, which "
                                    f"needs at least 3 customers; the frame has {n}. How to fix: pass k=1 or k={n}")
    spread = data.std(axis=0)
    standardized = (data - data.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    rng = np.random.default_rng(seed)

    def cluster(n_clusters: int) -> np.ndarray:
        return kmeans2(standardized, n_clusters, minit="++", seed=rng.integers(2**31), iter=50)[1]

    if k is None:
        candidates = range(2, min(max_k, len(frame) - 1) + 1)
        scored = [(silhouette(standardized, labels := cluster(c), rng), c, labels) for c in candidates]
        _, k, labels = max(scored, key=lambda item: item[0])
    else:
        labels = cluster(k)
    has_value = value is not None or "clv" in frame or "total_value" in frame
    order_by = check_values(frame, value_column(frame, value)) if has_value else data[:, 0]
    means = pd.Series(order_by).groupby(labels).mean().sort_values()
    rename = {old: f"C{i + 1}" for i, old in enumerate(means.index)}
    names = [f"C{i + 1}" for i in range(len(means))]
    return frame.assign(segment=_categorical([rename[label] for label in labels], names, frame.index))


def silhouette(points: np.ndarray, labels: np.ndarray, rng: np.random.Generator, sample: int = 2000) -> float:
    """Mean silhouette width (Rousseeuw 1987) on at most ``sample`` points."""
    from scipy.spatial.distance import cdist

    if len(np.unique(labels)) < 2:
        return -1.0
    idx = rng.choice(len(points), min(sample, len(points)), replace=False)
    pts, lab = points[idx], labels[idx]
    distances = cdist(pts, pts)
    widths = np.zeros(len(pts))
    for i in range(len(pts)):
        same = lab == lab[i]
        same[i] = False
        if not same.any():
            continue
        a = distances[i, same].mean()
        b = min(distances[i, lab == other].mean() for other in np.unique(lab) if other != lab[i])
        widths[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return float(widths.mean())


def _rules(frame: pd.DataFrame,
           rules: Mapping[str, str | Callable[[pd.DataFrame], Any]] | None = None) -> pd.DataFrame:
    example = "rules={'big': 'clv >= 100', 'small': lambda d: d['clv'] < 10}"
    if not isinstance(rules, Mapping) or not rules:
        raise invalid("rules", rules, f"method='rules' needs a dict of segment name to expression or function, "
                      f"e.g. {example}")
    labels = np.full(len(frame), OTHER, dtype=object)
    unassigned = np.ones(len(frame), dtype=bool)
    for name, rule in rules.items():
        _check_segment_name(name)
        rule = check_callable_or_text(rule, f"rules[{name!r}]")
        match = boolean_mask(frame, rule, f"rules[{name!r}]") if isinstance(rule, str) else _called(rule, frame, name)
        labels[match & unassigned] = name
        unassigned &= ~match
    return frame.assign(segment=_categorical(labels, [*rules, OTHER], frame.index))


def _called(rule: Callable[[pd.DataFrame], Any], frame: pd.DataFrame, name: str) -> np.ndarray:
    """The True/False per customer a rule function gives (refused unless it is exactly that)."""
    try:
        match = rule(frame)
    except CustValueError:
        raise
    except Exception as err:  # a user's function: report it with its name
        raise InvalidParameterError(f"rules[{name!r}]: the function raised {type(err).__name__}: {err}") from None
    values = np.asarray(match.to_numpy() if isinstance(match, pd.Series) else match)
    if values.shape != (len(frame),) or not (values.dtype == bool or pd.api.types.is_bool_dtype(values.dtype)):
        raise InvalidParameterError(
            f"rules[{name!r}]: the function must give one True/False per customer ({len(frame):,}), got "
            f"{values.dtype} values of shape {values.shape}; compare something, e.g. lambda d: d['clv'] > 100")
    return values.astype(bool)


@overload
def segment_summary(frame: pd.DataFrame, value: str | None = None, *, styled: Literal[False] = False) -> pd.DataFrame:
    ...


@overload
def segment_summary(frame: pd.DataFrame, value: str | None = None, *, styled: Literal[True]) -> SegmentTable:
    ...


@overload
def segment_summary(frame: pd.DataFrame, value: str | None = None, *,
                    styled: bool = False) -> pd.DataFrame | SegmentTable:
    ...


def segment_summary(frame: pd.DataFrame, value: str | None = None, *, styled: bool = False
                    ) -> pd.DataFrame | SegmentTable:
    """One row per segment: customers, share, total and mean value, value share, mean P(alive), F and R.

    Parameters
    ----------
    frame : DataFrame
        Customers with a ``segment`` column (see :func:`segment`). Never modified.
    value : str, optional
        The value column (default ``clv``, else ``total_value``).
    styled : bool, default False
        False: the numbers, for code (shares are fractions in [0, 1]). True: a
        :class:`SegmentTable` for reading, with shares as percentages, thousands
        separated and two decimals; it shows as a table in notebooks and as
        aligned text when printed, and keeps the numbers in ``.data``.

    Returns
    -------
    DataFrame or SegmentTable
        Indexed by ``segment``, in the segments' order. Segments without
        customers are left out (the ``segment`` column's categories still list
        them). A value share is ``<NA>`` when the total value is 0. Notes on
        what may surprise (P(alive) of 1 for customers without a repeat
        purchase) are in ``.attrs["notes"]``.

    Examples
    --------
    >>> df = pd.DataFrame({"clv": [10.0, 30.0, 60.0], "frequency": [0, 2, 4], "recency": [0.0, 5.0, 9.0],
    ...                    "segment": pd.Categorical(["low", "high", "high"], ["low", "mid", "high"], ordered=True)})
    >>> segment_summary(df)[["customers", "customer_share", "total_value", "value_share"]]
             customers  customer_share  total_value  value_share
    segment
    low              1        0.333333         10.0          0.1
    high             2        0.666667         90.0          0.9
    >>> print(segment_summary(df, styled=True))
             customers  % of customers  total clv  mean clv  % of clv  mean frequency  mean recency
    segment
    low              1           33.3%         10     10.00     10.0%            0.00           0.0
    high             2           66.7%         90     45.00     90.0%            3.00           7.0
    """
    frame = check_frame(frame, "frame")
    styled = check_bool(styled, "styled")
    if "segment" not in frame.columns:
        raise MissingColumnError("segment_summary needs a 'segment' column: run custvalue.segment first")
    column = value_column(frame, value)
    values = pd.Series(check_values(frame, column), index=frame.index)
    groups = values.groupby(frame["segment"], observed=True, sort=True)
    total = float(values.sum())
    sums = groups.sum()
    with np.errstate(all="ignore"):
        table = pd.DataFrame({
            "customers": groups.size(),
            "customer_share": groups.size() / len(frame),
            "total_value": sums,
            "mean_value": groups.mean().astype("Float64"),
            "value_share": (sums / total).astype("Float64") if total else pd.Series(pd.NA, sums.index,
                                                                                   dtype="Float64"),
        })
    for name, source in (("mean_p_alive", "p_alive"), ("mean_frequency", "frequency"), ("mean_recency", "recency")):
        if source in frame.columns:
            source_values = pd.Series(check_values(frame, source), index=frame.index)
            table[name] = source_values.groupby(frame["segment"], observed=True, sort=True).mean().astype("Float64")
    table.attrs["value_column"] = column
    table.attrs["notes"] = _notes(frame)
    return SegmentTable(table) if styled else table


def _notes(frame: pd.DataFrame) -> list[str]:
    """What may surprise a reader of the summary: P(alive) = 1 for customers without a repeat purchase."""
    if not {"p_alive", "frequency"} <= set(frame.columns):
        return []
    one_time = check_values(frame, "frequency") == 0
    certain = one_time & (check_values(frame, "p_alive") >= 1 - 1e-9)
    if not certain.any() or certain.sum() < one_time.sum():
        return []
    by_segment = pd.Series(certain, index=frame.index).groupby(frame["segment"], observed=True, sort=True).mean()
    mostly = [f"'{name}'" for name, share in by_segment.items() if share >= 0.5]
    where = f"; they make up most of {_listed(mostly)}" if mostly else ""
    return [
        f"P(alive) is 1 for the {_customers(int(certain.sum()))} ({certain.mean():.0%}) without a repeat "
        f"purchase{where}. The purchase model lets a customer drop out only right after a purchase, as "
        "BG/NBD does, so a customer who has not bought again since the first purchase cannot have dropped "
        "out, however long ago that was. MBG/NBD and Pareto/NBD let customers drop out before any repeat "
        "purchase: score with model='mbgnbd' or 'paretonbd' to rank one-time buyers by how long they have "
        "been silent."
    ]


def _customers(n: int) -> str:
    return f"{n:,} customer" + ("" if n == 1 else "s")


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# How SegmentTable shows each column: (header, format of a value); {value} is the value column's name.
DISPLAY = {
    "customers": ("customers", "{:,.0f}"),
    "customer_share": ("% of customers", "share"),
    "total_value": ("total {value}", "{:,.0f}"),
    "mean_value": ("mean {value}", "{:,.2f}"),
    "value_share": ("% of {value}", "share"),
    "mean_p_alive": ("mean P(alive)", "{:.2f}"),
    "mean_frequency": ("mean frequency", "{:,.2f}"),
    "mean_recency": ("mean recency", "{:,.1f}"),
}
MISSING = "n/a"


def _shown(value: object, form: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    if form != "share":
        return form.format(value)
    share = float(value)  # type: ignore[arg-type]
    if 0 < share < 0.0005:  # a few customers among many: not "0.0%"
        return "<0.1%"
    return ">99.9%" if 0.9995 <= share < 1 else f"{share:.1%}"


class SegmentTable:
    """A segment summary for reading (``segment_summary(..., styled=True)``).

    Shares show as percentages ("17.3%"; "<0.1%" and ">99.9%" where rounding
    would show 0.0% or 100.0%), counts and totals with thousands separators, means with two
    decimals, undefined shares as "n/a", and the summary's notes under the
    table: as HTML in a notebook, as aligned text when printed. The numbers
    stay in ``data`` (a DataFrame, shares as fractions); :meth:`style`
    gives a pandas ``Styler`` to restyle or export (it needs jinja2).

    Examples
    --------
    >>> df = pd.DataFrame({"total_value": [5.0, 15.0], "segment": ["a", "b"]})
    >>> table = segment_summary(df, styled=True)
    >>> table.data["customer_share"].tolist(), table.text().splitlines()[2].split()
    ([0.5, 0.5], ['a', '1', '50.0%', '5', '5.00', '25.0%'])
    """

    def __init__(self, data: pd.DataFrame):
        self.data = check_frame(data, "data", allow_empty=True)

    @property
    def notes(self) -> list[str]:
        """Notes on what may surprise in the table (those of ``segment_summary``).

        Examples
        --------
        >>> df = pd.DataFrame({"clv": [5.0, 9.0], "frequency": [0, 3], "recency": [0.0, 4.0], "T": [8.0, 8.0],
        ...                    "p_alive": [1.0, 0.7], "segment": ["new", "old"]})
        >>> segment_summary(df, styled=True).notes[0][:66]
        'P(alive) is 1 for the 1 customer (50%) without a repeat purchase; '
        """
        return [str(note) for note in self.data.attrs.get("notes", [])]

    def _headers_and_cells(self) -> tuple[dict[str, str], dict[str, list[str]]]:
        value = str(self.data.attrs.get("value_column", "value")).removeprefix("total_").replace("_", " ")
        shown = [c for c in self.data.columns if c in DISPLAY]
        headers = {c: DISPLAY[c][0].format(value=value) for c in shown}
        cells = {c: [_shown(v, DISPLAY[c][1]) for v in self.data[c].tolist()] for c in shown}
        return headers, cells

    def text(self) -> str:
        """The table as aligned text (two spaces between columns), notes wrapped below it; ``print`` shows it.

        Examples
        --------
        >>> df = pd.DataFrame({"total_value": [1.0] * 2001, "segment": ["many"] * 2000 + ["one"]})
        >>> print(segment_summary(df, styled=True).text())
                 customers  % of customers  total value  mean value  % of value
        segment
        many         2,000          >99.9%        2,000        1.00      >99.9%
        one              1           <0.1%            1        1.00       <0.1%
        """
        import textwrap

        headers, cells = self._headers_and_cells()
        name = str(self.data.index.name or "")
        rows = [str(label) for label in self.data.index]
        first = max([len(name), *map(len, rows)])
        widths = {c: max([len(headers[c]), *map(len, cells[c])]) for c in headers}
        lines = [" " * first + "".join(f"  {headers[c]:>{widths[c]}}" for c in headers), name]
        lines += [f"{row:<{first}}" + "".join(f"  {cells[c][i]:>{widths[c]}}" for c in headers)
                  for i, row in enumerate(rows)]
        for note in self.notes:  # no blank line: printed output stays one block (and doctests stay readable)
            lines += textwrap.wrap(f"Note: {note}", width=100)
        return "\n".join(lines)

    def style(self) -> Any:
        """A pandas ``Styler`` of ``data`` with the same formats and the notes as its caption (needs jinja2).

        Examples
        --------
        >>> df = pd.DataFrame({"total_value": [1.0, 3.0], "segment": ["a", "b"]})
        >>> html = segment_summary(df, styled=True).style().to_html()
        >>> "75.0%" in html and "% of customers" in html
        True
        """
        headers, _ = self._headers_and_cells()
        formats = {c: (lambda v, form=DISPLAY[c][1]: _shown(v, form)) for c in headers}
        styler = self.data.style.format(formats, subset=list(headers), na_rep=MISSING)
        styler = styler.hide([c for c in self.data.columns if c not in headers], axis=1)
        styler = styler.relabel_index(list(headers.values()), axis=1)
        return styler.set_caption(" ".join(self.notes)) if self.notes else styler

    def _repr_html_(self) -> str:
        import html

        headers, cells = self._headers_and_cells()
        shown = pd.DataFrame({headers[c]: cells[c] for c in headers}, index=self.data.index)
        notes = "".join(f"<p><small>Note: {html.escape(note)}</small></p>" for note in self.notes)
        return shown.to_html(border=0, justify="right") + notes

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__
