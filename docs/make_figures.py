"""Draw the pictures of the docs site from the bundled data: ``python docs/make_figures.py [folder]``.

Each figure is one function below, listed in ``FIGURES`` under its file name; the pictures go to
``docs/img`` unless another folder is given. Everything is seeded, so a second run draws the same
pixels; ``tests/test_guides.py`` draws them all into a temporary folder and compares them with the
committed ones (pixel for pixel under the matplotlib version that drew them), so a figure cannot
go stale. Needs matplotlib (the ``plot`` extra).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.dates import DateFormatter  # noqa: E402

import custvalue as cv  # noqa: E402

IMG = Path(__file__).resolve().parent / "img"
DPI = 90


@functools.cache
def cdnow() -> pd.DataFrame:
    """The full CDNOW log, cleaned with the default policies."""
    return cv.clean(cv.datasets.load_cdnow())


@functools.cache
def cdnow_segments() -> pd.DataFrame:
    """Every CDNOW customer scored over the next year (BG/NBD and Gamma-Gamma) and in RFM segments."""
    return cdnow().cv.score(horizon=52).cv.segment(method="rfm")


@functools.cache
def sample() -> pd.DataFrame:
    """The CDNOW sample (2,357 customers), cleaned."""
    return cv.clean(cv.datasets.load_cdnow(sample=True))


@functools.cache
def calhold() -> pd.DataFrame:
    """The sample's 39-week calibration (to 1997-09-30) and 39-week holdout (to 1998-06-30)."""
    return cv.calibration_holdout(sample(), "1997-09-30", "1998-06-30")


@functools.cache
def sample_scored() -> pd.DataFrame:
    """The sample scored at the end of its calibration period, over the 39 weeks of the holdout."""
    return sample().cv.score(horizon=39, observation_end="1997-09-30")


@functools.cache
def retail() -> pd.DataFrame:
    """The simulated retail export of the Clean guide, cleaned as that page does (copies dropped, returns netted)."""
    raw = cv.datasets.simulate_retail(1000, seed=1)
    lines = raw.assign(amount=raw["Quantity"] * raw["UnitPrice"], order=raw["InvoiceNo"].str.removeprefix("C"))
    return cv.clean(lines, columns={"CustomerID": "customer_id", "InvoiceDate": "date"}, date_format="%m/%d/%y %H:%M",
                    duplicates="drop", negative_amounts="net", net_by=["order", "StockCode"])


def figure(columns: int = 1, width: float = 6.0, height: float = 4.2) -> tuple[Any, list[Any]]:
    """A figure of ``columns`` panels side by side, each ``width`` inches wide."""
    fig, axes = plt.subplots(1, columns, figsize=(width * columns, height), squeeze=False)
    return fig, list(axes[0])


def index_segments() -> Any:
    """Home page: RFM segments' share of customers and of value, and the Lorenz curve (full CDNOW)."""
    fig, (left, right) = figure(2, height=4.5)
    cdnow_segments().cv.plot.segments(ax=left)
    cdnow_segments().cv.plot.lorenz(ax=right)
    return fig


def summary_timeline() -> Any:
    """Summarize: what frequency, recency and T measure, on one customer of the sample."""
    customer, end = 61, pd.Timestamp("1997-09-30")
    rows = sample()[sample()["customer_id"] == customer]
    days = rows.groupby("date")["amount"].sum()
    seen, later = days[days.index <= end], days[days.index > end]
    first, last = seen.index.min(), seen.index.max()
    fig, (ax,) = figure(1, 10, 3.4)
    ax.scatter(seen.index, [0] * len(seen), s=seen.to_numpy() * 3, zorder=3, label="purchase occasion (size: $)")
    ax.scatter(later.index, [0] * len(later), s=later.to_numpy() * 3, color="lightgrey", zorder=3,
               label="after observation_end: not counted")
    for i, (date, value) in enumerate(seen.items()):
        rows_that_day = int((rows["date"] == date).sum())
        note = ("first purchase\n" if i == 0 else "") + f"${value:.0f}" + (
            f" ({rows_that_day} rows)" if rows_that_day > 1 else "")
        below = i % 2 == 0  # alternate sides, so that labels of close dates do not overlap
        ax.annotate(note, (date, 0), textcoords="offset points", xytext=(0, -30 if below else 12), ha="center",
                    fontsize=8)
    summary = cv.summarize(rows, observation_end=end).loc[customer]
    for level, start, stop, text in ((0.5, first, last, f"recency = {summary['recency']:.2f} weeks"),
                                     (1.0, first, end, f"T = {summary['T']:.2f} weeks")):
        ax.annotate("", (start, level), (stop, level), arrowprops={"arrowstyle": "<->"})
        ax.text(start + (stop - start) / 2, level + 0.08, text, ha="center", fontsize=9)
    ax.axvline(end, color="grey", linestyle=":")
    ax.text(end, 1.35, " observation_end", fontsize=8, color="grey")
    ax.set(ylim=(-0.9, 1.6), yticks=[], title=f"Customer {customer}: frequency = {summary['frequency']:.0f} repeat "
           f"occasions, monetary_value = ${summary['monetary_value']:.2f} (their mean)")
    ax.legend(loc="lower right", fontsize=8, markerscale=0.5)
    ax.xaxis.set_major_formatter(DateFormatter("%b %Y"))
    return fig


def score_matrices() -> Any:
    """Score: expected purchases and P(alive) by frequency and recency (sample, T = 39 weeks)."""
    fig, (left, right) = figure(2)
    sample_scored().cv.plot.frequency_recency_matrix(T=39, t=39, max_frequency=15, ax=left)
    sample_scored().cv.plot.p_alive_matrix(T=39, max_frequency=15, ax=right)
    return fig


def score_clv() -> Any:
    """Plots: the distribution of next year's CLV (full CDNOW; its Lorenz curve is on the home page)."""
    fig, (ax,) = figure(1, 7)
    cdnow_segments().cv.plot.clv_distribution(bins=40, ax=ax)
    return fig


def segment_grid() -> Any:
    """Segment: the RFM grid, customers and mean CLV per cell (full CDNOW)."""
    fig, (left, right) = figure(2)
    cdnow_segments().cv.plot.rfm_heatmap(ax=left)
    cdnow_segments().cv.plot.rfm_heatmap(value="clv", ax=right)
    return fig


def kpis_cohorts() -> Any:
    """KPIs: monthly cohort retention of the simulated retail export."""
    fig, (ax,) = figure(1, 8, 4.5)
    cv.cohort_retention(retail()).cv.plot.cohort_retention(ax=ax)
    return fig


def uplift_measured() -> Any:
    """Uplift: the measured lift per segment of a simulated A/B campaign with a true lift of 2."""
    fig, (ax,) = figure(1, 7)
    cv.simulate_campaign(6000, effect=2.0, seed=7).cv.measure_uplift(segment="segment").cv.plot.uplift_by_segment(ax=ax)
    return fig


def evaluation_holdout() -> Any:
    """Evaluation: calibration vs holdout by frequency, and the repeat-purchase histogram (sample)."""
    fig, (left, right) = figure(2)
    evaluation = cv.evaluate("bgnbd", calhold())
    cv.plotting.calibration_vs_holdout(evaluation, ax=left)
    cv.plotting.period_transactions(evaluation.model, cv.evaluation.calibration_summary(calhold()), ax=right)
    return fig


def evaluation_tracking() -> Any:
    """Evaluation: weekly repeat purchases, actual and predicted, cumulative and per week (sample)."""
    model = cv.evaluate("bgnbd", calhold()).model
    track = cv.tracking(model, sample())
    fig, (left, right) = figure(2)
    for ax, cumulative in ((left, True), (right, False)):
        track.cv.plot.tracking(cumulative=cumulative, ax=ax)
        ax.axvline(pd.Timestamp("1997-09-30"), color="grey", linestyle=":")
    return fig


def evaluation_alive_path() -> Any:
    """Evaluation: one customer's P(alive) through their history, under BG/NBD and Pareto/NBD."""
    summary = cv.summarize(sample(), observation_end="1997-09-30")
    fig, axes = figure(2)
    for ax, name in zip(axes, ("bgnbd", "paretonbd")):
        model = cv.models.get(name).fit(summary)
        cv.alive_path(model, sample(), customer_id=61, observation_end="1997-09-30").cv.plot.alive_path(ax=ax)
    return fig


FIGURES: dict[str, Callable[[], Any]] = {
    "cdnow_segments.png": index_segments,
    "summary_timeline.png": summary_timeline,
    "score_matrices.png": score_matrices,
    "score_clv.png": score_clv,
    "segment_grid.png": segment_grid,
    "kpis_cohorts.png": kpis_cohorts,
    "uplift_measured.png": uplift_measured,
    "evaluation_holdout.png": evaluation_holdout,
    "evaluation_tracking.png": evaluation_tracking,
    "evaluation_alive_path.png": evaluation_alive_path,
}


def main(folder: Path = IMG) -> list[Path]:
    """Draw every figure into ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with plt.rc_context({"figure.max_open_warning": 0}):
        for name, draw in FIGURES.items():
            fig = draw()
            fig.tight_layout()
            # The file records the matplotlib version that drew it (PNG "Software"), which the test reads.
            fig.savefig(folder / name, dpi=DPI)
            plt.close(fig)
            written.append(folder / name)
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else IMG)
