"""Draw the pictures of the docs site: python docs/make_figures.py (needs custvalue[plot])."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import custvalue as cv  # noqa: E402


def main() -> None:
    scored = cv.datasets.load_cdnow().cv.clean().cv.score(horizon=52)
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    scored.cv.segment(method="rfm").cv.plot.segments(ax=left)
    scored.cv.plot.lorenz(ax=right)
    figure.tight_layout()
    figure.savefig(Path(__file__).parent / "img" / "cdnow_segments.png", dpi=90)


if __name__ == "__main__":
    main()
