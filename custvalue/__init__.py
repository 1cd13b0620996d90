"""custvalue: customer-value analytics on pandas.

Raw transactions in, decisions out: clean, summarize, score (CLV models),
segment, filter and size campaigns, as plain functions and as the ``df.cv``
accessor that importing this package registers.
"""

from typing import Any

from custvalue import (
    accessor,  # noqa: F401  (importing it registers df.cv)
    datasets,
    models,
)
from custvalue.alive import alive_path
from custvalue.clean import CleanReport, clean, cleaning_report
from custvalue.errors import (
    AbilityError,
    ConvergenceError,
    CustValueError,
    InvalidParameterError,
    NotFittedError,
    SchemaError,
    UnknownModelError,
)
from custvalue.evaluation import compare_models, evaluate, tracking
from custvalue.filtering import filter_customers
from custvalue.kpis import cohort_retention, kpis
from custvalue.reading import read_csv
from custvalue.score import fitted_models, score
from custvalue.segment import SegmentTable, segment, segment_summary
from custvalue.summary import calibration_holdout, summarize
from custvalue.uplift import measure_uplift, simulate_campaign, uplift, uplift_summary
from custvalue.validation import validate

_SCHEMAS = ("RawTransactions", "CleanTransactions", "CustomerSummary")


def __getattr__(name: str) -> Any:
    # The pandera schemas load on first use: pandera costs more import time than the rest of custvalue.
    if name in _SCHEMAS:
        from custvalue import schemas

        return getattr(schemas, name)
    raise AttributeError(f"module 'custvalue' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
    "datasets",
    "models",
    "clean",
    "cleaning_report",
    "CleanReport",
    "summarize",
    "calibration_holdout",
    "score",
    "fitted_models",
    "segment",
    "segment_summary",
    "SegmentTable",
    "filter_customers",
    "kpis",
    "cohort_retention",
    "evaluate",
    "compare_models",
    "tracking",
    "alive_path",
    "uplift",
    "uplift_summary",
    "measure_uplift",
    "simulate_campaign",
    "validate",
    "read_csv",
    "RawTransactions",
    "CleanTransactions",
    "CustomerSummary",
    "CustValueError",
    "SchemaError",
    "NotFittedError",
    "UnknownModelError",
    "InvalidParameterError",
    "ConvergenceError",
    "AbilityError",
    "__version__",
]
