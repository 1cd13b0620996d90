"""Plots: each renders with Agg and shows the numbers of the table it is drawn from."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import custvalue as cv  # noqa: E402
from custvalue import plotting  # noqa: E402
from custvalue.errors import SchemaError  # noqa: E402
from custvalue.kpis import gini  # noqa: E402


@pytest.fixture(scope="module")
def scored():
    return cv.score(cv.datasets.load_cdnow_summary(), horizon=39)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_matrices_show_model_predictions(scored):
    model = cv.fitted_models(scored)["model"]
    ax = scored.cv.plot.p_alive_matrix(T=39, max_frequency=10)
    image = ax.get_images()[0].get_array()
    assert image.shape == (40, 11) and "Probability alive" in ax.get_title()
    corner = pd.DataFrame({"frequency": [10.0], "recency": [39.0], "T": [39.0]})
    assert image[-1, -1] == pytest.approx(model.p_alive(corner).iloc[0])
    ax = scored.cv.plot.frequency_recency_matrix(T=39, t=5, max_frequency=10)
    assert ax.get_images()[0].get_array()[-1, -1] == pytest.approx(model.expected_purchases(corner, 5).iloc[0])
    assert ax.get_xlabel().startswith("frequency") and ax.get_ylabel().startswith("recency")


def test_calibration_and_tracking_plots():
    tx = cv.datasets.load_cdnow(sample=True)
    calhold = cv.calibration_holdout(tx, "1997-09-30", "1998-06-30")
    evaluation = cv.evaluate("bgnbd", calhold)
    ax = plotting.calibration_vs_holdout(evaluation)
    actual, predicted = ax.get_lines()
    np.testing.assert_allclose(actual.get_ydata(), evaluation.by_frequency["actual"])
    np.testing.assert_allclose(predicted.get_ydata(), evaluation.by_frequency["predicted"])
    track = cv.tracking(evaluation.model, tx)
    ax = track.cv.plot.tracking()
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), track["actual_cumulative"])
    ax = plotting.tracking(track, cumulative=False)
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), track["predicted_incremental"])
    assert_dates_readable(ax)


def assert_dates_readable(ax):
    """Concise date labels (1997, Feb, Mar, ...) whose boxes do not overlap once drawn."""
    from matplotlib.dates import ConciseDateFormatter

    assert isinstance(ax.xaxis.get_major_formatter(), ConciseDateFormatter)
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    boxes = sorted((t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()), key=lambda b: b.x0)
    assert len(boxes) >= 3
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:]))


def test_period_transactions_counts(scored):
    ax = scored.cv.plot.period_transactions(max_frequency=7)
    bars = ax.patches
    assert len(bars) == 16  # 8 buckets, actual and simulated
    actual = np.bincount(np.minimum(scored["frequency"].astype(int), 7), minlength=8)
    np.testing.assert_array_equal([b.get_height() for b in bars[:8]], actual)
    assert sum(b.get_height() for b in bars[8:]) == len(scored)


def test_value_plots(scored):
    ax = scored.cv.plot.clv_distribution(bins=30)
    assert len(ax.patches) == 30 and sum(p.get_height() for p in ax.patches) == len(scored)
    ax = scored.cv.plot.lorenz()
    curve = ax.get_lines()[0].get_ydata()
    assert curve[0] == 0 and curve[-1] == pytest.approx(1.0) and np.all(np.diff(curve) >= 0)
    assert f"Gini {gini(scored['clv']):.2f}" in ax.get_title()


def test_segment_plots(scored):
    from matplotlib.ticker import PercentFormatter

    segmented = cv.segment(scored, "rfm")
    table = cv.segment_summary(segmented)
    ax = segmented.cv.plot.segments()
    widths = [p.get_width() for p in ax.patches]
    np.testing.assert_allclose(widths[:len(table)], table["customer_share"])
    np.testing.assert_allclose(widths[len(table):], table["value_share"].to_numpy(dtype=float))
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(s) for s in table.index]
    assert (table["customers"] > 0).all() and isinstance(ax.xaxis.get_major_formatter(), PercentFormatter)


def test_rfm_grid_cells_are_the_counts_and_every_f_score_is_used(scored):
    segmented = cv.segment(scored, "rfm")
    ax = segmented.cv.plot.rfm_heatmap()
    grid = ax.get_images()[0].get_array()
    counts = pd.crosstab(segmented["r_score"], segmented["f_score"]).reindex(index=range(1, 6), columns=range(1, 6),
                                                                              fill_value=0)
    np.testing.assert_array_equal(grid, counts.to_numpy())  # row r-1, column f-1
    assert grid.shape == (5, 5) and grid.sum() == len(scored)
    assert (grid.sum(axis=0) > 0).all()  # no empty F column although 60% of customers have frequency 0
    labels = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert labels[(1, 1)] == f"{counts.loc[1, 1]:,}" and labels[(5, 5)] == f"{counts.loc[5, 5]:,}"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4", "5"]
    ax = segmented.cv.plot.rfm_heatmap(value="clv")
    means = segmented.groupby(["r_score", "f_score"])["clv"].mean()
    cells = ax.get_images()[0].get_array()
    assert cells[4, 4] == pytest.approx(means.loc[(5, 5)]) and cells[0, 0] == pytest.approx(means.loc[(1, 1)])


def test_cohort_and_uplift_plots():
    matrix = cv.cohort_retention(cv.clean(cv.datasets.load_cdnow()), "M")
    ax = matrix.cv.plot.cohort_retention()
    shown = np.ma.filled(ax.get_images()[0].get_array().astype(float), np.nan)
    np.testing.assert_allclose(shown, matrix.to_numpy(dtype=float), equal_nan=True)
    measured = cv.measure_uplift(cv.simulate_campaign(3000, seed=2), segment="segment", n_boot=100)
    ax = measured.cv.plot.uplift_by_segment()
    points = ax.get_lines()[0].get_ydata()
    np.testing.assert_allclose(points, measured["lift"])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(measured.index)


def test_plots_say_what_is_missing():
    with pytest.raises(SchemaError, match="run custvalue.score first"):
        cv.datasets.load_cdnow_summary().cv.plot.lorenz()
    with pytest.raises(SchemaError, match="segment\\(method='rfm'\\)"):
        cv.datasets.load_cdnow_summary().cv.plot.rfm_heatmap()


def test_alive_path_plot_shows_the_path_and_marks_purchases():
    tx = cv.datasets.load_cdnow(sample=True)
    model = cv.models.BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    path = cv.alive_path(model, tx, customer_id=6, observation_end="1997-09-30")
    ax = path.cv.plot.alive_path()
    curve, marks = ax.get_lines()
    np.testing.assert_allclose(curve.get_ydata(), path["p_alive"])
    bought = path[path["purchases"] > 0]
    assert len(bought) == 8  # customer 6 bought on 8 days by 1997-09-30 (frequency 7 in the published summary)
    np.testing.assert_array_equal(pd.to_datetime(marks.get_xdata()), bought.index)
    np.testing.assert_allclose(marks.get_ydata(), bought["p_alive"])
    assert ax.get_title() == "P(alive) of customer 6 (bgnbd)" and ax.get_ylim() == (0, 1.05)
    assert_dates_readable(ax)
    with pytest.raises(SchemaError, match="run custvalue.alive_path"):
        cv.datasets.load_cdnow_summary().cv.plot.alive_path()

