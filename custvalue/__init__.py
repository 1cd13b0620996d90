"""custvalue: customer-value analytics on pandas.

Raw transactions in, decisions out: clean, summarize, score (CLV models),
segment, filter and size campaigns, as plain functions and as the ``df.cv``
accessor that importing this package registers.
"""

from importlib.util import find_spec

from custvalue import (
    accessor,  # noqa: F401  (importing it registers df.cv)
    datasets,
    models,
)
from custvalue.clean import CleanReport, clean, cleaning_report
from custvalue.errors import (
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
from custvalue.schemas import CleanTransactions, CustomerSummary, RawTransactions, validate
from custvalue.score import fitted_models, score
from custvalue.segment import segment, segment_summary
from custvalue.summary import calibration_holdout, summarize
from custvalue.uplift import measure_uplift, simulate_campaign, uplift, uplift_summary

if find_spec("dask") is not None and find_spec("dask.dataframe") is not None:  # the dask extra: ddf.cv
    try:
        from custvalue.dask_frames import register_accessor

        register_accessor()
    except ImportError:  # dask installed without its dataframe dependencies
        pass

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
    "filter_customers",
    "kpis",
    "cohort_retention",
    "evaluate",
    "compare_models",
    "tracking",
    "uplift",
    "uplift_summary",
    "measure_uplift",
    "simulate_campaign",
    "validate",
    "RawTransactions",
    "CleanTransactions",
    "CustomerSummary",
    "CustValueError",
    "SchemaError",
    "NotFittedError",
    "UnknownModelError",
    "InvalidParameterError",
    "ConvergenceError",
    "__version__",
]
