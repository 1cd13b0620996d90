"""CLV models and their registry.

Purchase models: ``bgnbd`` (:class:`BetaGeo`), ``mbgnbd`` (:class:`ModifiedBetaGeo`),
``paretonbd`` (:class:`ParetoNBD`), ``bgbb`` (:class:`BetaGeoBetaBinom`), and the regularity
models ``bgcnbd`` (:class:`BetaGeoCNBD`) and ``mbgcnbd`` (:class:`ModifiedBetaGeoCNBD`). Spend model:
``gammagamma`` (:class:`GammaGamma`). Value models: ``formula`` and ``historic``.
Contractual: ``sbg`` (:class:`ShiftedBetaGeometric`). Each declares its
:class:`Role` and :class:`Ability` set; ``available(role=..., ability=...)`` lists them.
"""

from custvalue.models._base import ABILITY_METHODS, Ability, BaseModel, MLEModel, Role
from custvalue.models.bgbb import BetaGeoBetaBinom
from custvalue.models.bgcnbd import BetaGeoCNBD, ModifiedBetaGeoCNBD
from custvalue.models.bgnbd import BetaGeo
from custvalue.models.formula import FormulaCLV, HistoricValue
from custvalue.models.gammagamma import GammaGamma
from custvalue.models.gammagamma_individual import GammaGammaIndividual  # noqa: F401  (registers itself)
from custvalue.models.mbgnbd import ModifiedBetaGeo
from custvalue.models.paretonbd import ParetoNBD
from custvalue.models.registry import available, get, load, register, resolve
from custvalue.models.sbg import ShiftedBetaGeometric

for _cls in (BetaGeo, ModifiedBetaGeo, ParetoNBD, BetaGeoBetaBinom, GammaGamma, FormulaCLV, HistoricValue,
             ShiftedBetaGeometric, BetaGeoCNBD, ModifiedBetaGeoCNBD):
    register(_cls)

__all__ = [
    "BaseModel", "MLEModel", "Role", "Ability", "ABILITY_METHODS",
    "BetaGeo", "ModifiedBetaGeo", "ParetoNBD", "BetaGeoBetaBinom", "GammaGamma",
    "FormulaCLV", "HistoricValue", "ShiftedBetaGeometric", "BetaGeoCNBD", "ModifiedBetaGeoCNBD",
    "available", "get", "resolve", "load", "register",
]
