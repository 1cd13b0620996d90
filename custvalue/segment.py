"""Segment customers: value tiers, RFM named segments, lifecycle stages, k-means, your own rules.

Every method returns a copy of the frame with a ``segment`` column (an
ordered pandas Categorical whose categories are documented per method) and
keeps every other column, and the fitted models it carries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from custvalue.errors import InvalidParameterError, SchemaError

__all__ = ["segment", "segment_summary", "RFM_SEGMENTS", "LIFECYCLE_STAGES", "value_column"]

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


def value_column(frame: pd.DataFrame, preferred: str | None = None) -> str:
    """The value column to use: ``preferred``, else ``clv``, else ``total_value`` (historic value)."""
    if preferred is not None:
        if preferred not in frame.columns:
            raise SchemaError(f"column {preferred!r} is not in the frame; it has {list(frame.columns)}")
        return preferred
    for name in ("clv", "total_value"):
        if name in frame.columns:
            return name
    raise SchemaError(
        "no value column: segmenting by value needs 'clv' (run custvalue.score first) or 'total_value' "
        "(run custvalue.summarize), or pass value='your_column'"
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
        * ``"rfm"`` — R, F and M scores 1–5 by quintile (``r_score``,
          ``f_score``, ``m_score``, ``rfm_score`` like "545") and named
          segments from the RF grid :data:`RFM_SEGMENTS`. R is the time since
          the last purchase (``T − recency``), most recent = 5. Ties get the
          lowest score their value reaches, whatever the row order. Option
          ``rules``: your own mapping of name to score ranges, e.g.
          ``{"VIP": {"r": (4, 5), "m": (5, 5)}}``, first match wins; customers
          no rule matches are "Other".
        * ``"lifecycle"`` — :data:`LIFECYCLE_STAGES`, see :func:`lifecycle_stage`.
        * ``"kmeans"`` — clusters of standardized ``features`` by SciPy's
          k-means, labelled C1..Ck by increasing mean ``value``. Options:
          ``k`` (default: chosen by silhouette among 2..8), ``features``,
          ``value``, ``seed``.
        * ``"rules"`` — ``rules``: mapping of name to a boolean
          ``DataFrame.eval`` expression or a callable returning a boolean
          Series; first match wins, others are "Other".

    Returns
    -------
    DataFrame
        A copy with ``segment`` (and the per-method score columns).

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
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"segment needs a DataFrame of customers, got {type(frame).__name__}")
    if len(frame) == 0:
        raise SchemaError("segment: the frame is empty")
    makers: dict[str, Callable[..., pd.DataFrame]] = {
        "value_tiers": _value_tiers, "rfm": _rfm, "lifecycle": _lifecycle, "kmeans": _kmeans, "rules": _rules,
    }
    if method not in makers:
        raise InvalidParameterError(f"unknown segmentation method {method!r}; use one of {list(METHODS)}")
    try:
        return makers[method](frame, **options)
    except TypeError as err:
        if "unexpected keyword" in str(err):
            raise InvalidParameterError(f"segment(method={method!r}): {err}") from None
        raise


def _categorical(labels: Sequence | np.ndarray, categories: Sequence[str], index: pd.Index) -> pd.Series:
    return pd.Series(pd.Categorical(labels, categories=list(categories), ordered=True), index=index)


def _value_tiers(frame: pd.DataFrame, value: str | None = None, quantiles: Sequence[float] | None = None,
                 bins: Sequence[float] | None = None, labels: Sequence[str] | None = None) -> pd.DataFrame:
    column = value_column(frame, value)
    values = frame[column].astype(float)
    if values.isna().any():
        raise SchemaError(f"value_tiers: column {column!r} has missing values")
    if quantiles is not None and bins is not None:
        raise InvalidParameterError("pass quantiles= or bins=, not both")
    if bins is not None:
        edges = [-np.inf, *sorted(bins), np.inf]
    else:
        cuts = sorted(quantiles) if quantiles is not None else [1 / 3, 2 / 3]
        if not all(0 < q < 1 for q in cuts):
            raise InvalidParameterError(f"quantiles must lie in (0, 1), got {cuts}")
        edges = [-np.inf, *cuts, np.inf]
        values = values.rank(method="max", pct=True)  # equal values share a tier
    n_tiers = len(edges) - 1
    labels = list(labels) if labels is not None else (["low", "mid", "high"] if n_tiers == 3 else
                                                       [f"tier {i + 1}" for i in range(n_tiers)])
    if len(labels) != n_tiers:
        raise InvalidParameterError(f"{n_tiers} tiers need {n_tiers} labels, got {len(labels)}")
    codes = pd.cut(values, edges, labels=False, right=True)
    return frame.assign(segment=_categorical(np.asarray(labels, dtype=object)[codes.to_numpy()], labels, frame.index))


def quintile_scores(values: pd.Series) -> pd.Series:
    """Scores 1..5 by quintile, higher values scoring higher; ties get the lowest score they reach.

    Examples
    --------
    >>> quintile_scores(pd.Series([0, 0, 0, 1, 2, 3, 4, 5, 6, 9])).tolist()
    [1, 1, 1, 2, 3, 3, 4, 4, 5, 5]
    """
    ranks = values.rank(method="min")
    return (1 + np.floor(5 * (ranks - 1) / len(values))).astype(int)


def _rfm(frame: pd.DataFrame, rules: Mapping[str, Mapping[str, tuple[int, int]]] | None = None) -> pd.DataFrame:
    missing = [c for c in ("frequency", "recency", "T") if c not in frame.columns]
    if missing:
        raise SchemaError(f"rfm segments need frequency, recency and T; missing {missing} (run custvalue.summarize)")
    out = frame.assign(
        r_score=quintile_scores(-(frame["T"] - frame["recency"])),  # less time since last purchase is better
        f_score=quintile_scores(frame["frequency"]),
    )
    letters = out["r_score"].astype(str) + out["f_score"].astype(str)
    if "monetary_value" in frame.columns:
        out["m_score"] = quintile_scores(frame["monetary_value"])
        letters = letters + out["m_score"].astype(str)
    out["rfm_score"] = letters
    grid = RFM_SEGMENTS if rules is None else _check_score_rules(rules, "m_score" in out)
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


def _check_score_rules(rules: Mapping, has_m: bool) -> dict:
    checked = {}
    for name, ranges in rules.items():
        if not isinstance(ranges, Mapping) or not ranges:
            raise InvalidParameterError(f"rule {name!r} must map 'r', 'f' or 'm' to a (low, high) score range")
        for letter, bounds in ranges.items():
            if letter not in ("r", "f", "m") or (letter == "m" and not has_m):
                raise InvalidParameterError(f"rule {name!r}: unknown or unavailable score {letter!r}")
            if len(bounds) != 2 or not 1 <= bounds[0] <= bounds[1] <= 5:
                raise InvalidParameterError(f"rule {name!r}: {letter} range must be (low, high) within 1..5")
        checked[name] = dict(ranges)
    return checked


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
    """
    thresholds = dict(thresholds or {})
    known = {"new_within", "churned_after", "at_risk_after", "churned_p_alive", "at_risk_p_alive", "loyal_frequency"}
    unknown = set(thresholds) - known
    if unknown:
        raise InvalidParameterError(f"unknown lifecycle thresholds {sorted(unknown)}; known: {sorted(known)}")
    missing = [c for c in ("frequency", "recency", "T") if c not in frame.columns]
    if missing:
        raise SchemaError(f"lifecycle stages need frequency, recency and T; missing {missing}")
    x, recency, T = (frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    repeat = x > 0
    gap = float(np.median(recency[repeat] / x[repeat])) if repeat.any() else float(np.median(T))
    new_within = thresholds.get("new_within", 2 * gap)
    idle = T - recency
    if "p_alive" in frame.columns:
        alive = frame["p_alive"].to_numpy(dtype=float)
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


def _lifecycle(frame: pd.DataFrame, thresholds: Mapping[str, float] | None = None) -> pd.DataFrame:
    return frame.assign(segment=lifecycle_stage(frame, thresholds))


def _kmeans(frame: pd.DataFrame, k: int | None = None, features: Sequence[str] | None = None, value: str | None = None,
            seed: int | None = 0, max_k: int = 8) -> pd.DataFrame:
    from scipy.cluster.vq import kmeans2

    if features is None:
        features = [c for c in ("frequency", "recency", "T", "monetary_value", "clv", "p_alive") if c in frame.columns]
    missing = [c for c in features if c not in frame.columns]
    if missing or not features:
        raise SchemaError(f"kmeans features {missing or features} are not in the frame")
    data = frame[list(features)].to_numpy(dtype=float)
    if not np.all(np.isfinite(data)):
        raise SchemaError(f"kmeans: features {list(features)} have missing or infinite values")
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
        if not isinstance(k, int) or not 1 <= k <= len(frame):
            raise InvalidParameterError(f"k must be a whole number between 1 and the number of customers, got {k!r}")
        labels = cluster(k)
    has_value = value is not None or "clv" in frame or "total_value" in frame
    order_by = frame[value_column(frame, value)] if has_value else frame[features[0]]
    means = pd.Series(order_by.to_numpy(dtype=float)).groupby(labels).mean().sort_values()
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
    if not rules:
        raise InvalidParameterError("method='rules' needs rules={'name': 'expression' or callable, ...}")
    labels = np.full(len(frame), OTHER, dtype=object)
    unassigned = np.ones(len(frame), dtype=bool)
    for name, rule in rules.items():
        try:
            match = rule(frame) if callable(rule) else frame.eval(rule)
        except Exception as err:  # a user's expression: report it with its name
            raise InvalidParameterError(f"rule {name!r} failed: {err}") from None
        match = np.asarray(match, dtype=bool)
        if match.shape != (len(frame),):
            raise InvalidParameterError(f"rule {name!r} must give one True/False per customer")
        labels[match & unassigned] = name
        unassigned &= ~match
    return frame.assign(segment=_categorical(labels, [*rules, OTHER], frame.index))


def segment_summary(frame: pd.DataFrame, value: str | None = None) -> pd.DataFrame:
    """One row per segment: customers, share, total and mean value, value share, mean P(alive), F and R.

    Examples
    --------
    >>> df = pd.DataFrame({"clv": [10.0, 30.0, 60.0], "frequency": [0, 2, 4], "recency": [0.0, 5.0, 9.0],
    ...                    "segment": pd.Categorical(["low", "high", "high"], ["low", "high"], ordered=True)})
    >>> segment_summary(df)[["customers", "customer_share", "total_value", "value_share"]]
             customers  customer_share  total_value  value_share
    segment
    low              1        0.333333         10.0          0.1
    high             2        0.666667         90.0          0.9
    """
    if "segment" not in frame.columns:
        raise SchemaError("segment_summary needs a 'segment' column: run custvalue.segment first")
    column = value_column(frame, value)
    groups = frame.groupby("segment", observed=False, sort=True)
    total = frame[column].sum()
    table = pd.DataFrame({
        "customers": groups.size(),
        "customer_share": groups.size() / len(frame),
        "total_value": groups[column].sum(),
        "mean_value": groups[column].mean(),
        "value_share": groups[column].sum() / total if total else np.nan,
    })
    for name, source in (("mean_p_alive", "p_alive"), ("mean_frequency", "frequency"), ("mean_recency", "recency")):
        if source in frame.columns:
            table[name] = groups[source].mean()
    table.attrs["value_column"] = column
    return table
