"""CLV models and their registry.

Probabilistic models: ``bgnbd`` (:class:`BetaGeo`), ``mbgnbd`` (:class:`ModifiedBetaGeo`),
``paretonbd`` (:class:`ParetoNBD`), ``bgbb`` (:class:`BetaGeoBetaBinom`) and the spend model
``gammagamma`` (:class:`GammaGamma`). Formula models: ``formula`` and ``historic``.
"""

from custvalue.models._base import BaseModel, MLEModel
from custvalue.models.bgbb import BetaGeoBetaBinom
from custvalue.models.bgnbd import BetaGeo
from custvalue.models.formula import FormulaCLV, HistoricValue
from custvalue.models.gammagamma import GammaGamma
from custvalue.models.mbgnbd import ModifiedBetaGeo
from custvalue.models.paretonbd import ParetoNBD
from custvalue.models.registry import available, get, load, model_class, register
from custvalue.models.sbg import ShiftedBetaGeometric

for _cls in (BetaGeo, ModifiedBetaGeo, ParetoNBD, BetaGeoBetaBinom, GammaGamma, FormulaCLV, HistoricValue,
             ShiftedBetaGeometric):
    register(_cls)

__all__ = [
    "BaseModel", "MLEModel", "BetaGeo", "ModifiedBetaGeo", "ParetoNBD", "BetaGeoBetaBinom", "GammaGamma",
    "FormulaCLV", "HistoricValue", "ShiftedBetaGeometric",
    "available", "get", "load", "model_class", "register",
]
