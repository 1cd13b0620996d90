"""Sums of per-row log-likelihood terms, with their gradients and Hessians, for models with covariates.

A customer's log-likelihood is written in *per-row log-parameters* u_i (for the
BG/NBD family u_i = (log r, log α_i, log a_i, log b_i)), which are affine in the
vector z the optimiser moves: u_i = A_i z. Each piece of the log-likelihood is
a :class:`Term` holding its value and its derivatives with respect to u; the
:class:`Accumulator` adds weighted terms up into the value, gradient A_iᵀg_i and
Hessian A_iᵀH_iA_i with respect to z, where :class:`Lift` knows each A_i.
Without covariates A_i = [I 0] and every sum is one dot product.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Value = np.ndarray | float


@dataclass
class Term:
    """A piece of per-row log-likelihoods: its value and derivatives with respect to the per-row log-parameters.

    ``grad`` maps a parameter index j to ∂/∂u_j and ``hess`` a pair (j, k), j <= k,
    to ∂²/∂u_j∂u_k; missing entries are zero. Entries are arrays (one value per
    row) or plain numbers (the same for every row).
    """

    value: Value
    grad: dict[int, Value] = field(default_factory=dict)
    hess: dict[tuple[int, int], Value] = field(default_factory=dict)


def weighted_sum(weights: np.ndarray, values: Value) -> float:
    """Σ weights·values, for values given per row or as one number."""
    if np.ndim(values) == 0:
        return float(values) * float(np.sum(weights))
    return float(np.einsum("i,i->", weights, values))  # not BLAS: its threads stall on a busy machine


class Lift:
    """The rows A_i mapping z to each row's log-parameters: u_ij = z_j + Σ_c coefficient_ic · z_c.

    ``covariates[j]`` lists, for the per-row parameter j, the pairs (index in z,
    a column of covariate values with its sign) that shift it.
    """

    def __init__(self, n_params: int, covariates: dict[int, list[tuple[int, np.ndarray]]] | None = None):
        self.n_params = n_params
        self.covariates = covariates or {}

    def entries(self, j: int) -> list[tuple[int, np.ndarray | None]]:
        """(index in z, coefficient per row or None for one) of ∂u_j/∂z."""
        return [(j, None), *self.covariates.get(j, [])]

    def lifted(self, vectors: dict[int, Value]) -> dict[int, Value]:
        """A_iᵀv_i for per-row vectors v_i given by entry: the same vectors on the scale of z."""
        out: dict[int, Value] = {}
        for j, v in vectors.items():
            for p, c in self.entries(j):
                contribution = v if c is None else c * v
                out[p] = contribution if p not in out else out[p] + contribution
        return out


class Accumulator:
    """Adds weighted terms up into the value, gradient and Hessian with respect to z."""

    def __init__(self, n_params: int, order: int):
        self.order = order
        self.value = 0.0
        self.grad = np.zeros(n_params)
        self.hess = np.zeros((n_params, n_params))

    def add_value(self, weights: np.ndarray, values: Value) -> None:
        self.value += weighted_sum(weights, values)

    def add_grad(self, weights: np.ndarray, grad: dict[int, Value], lift: Lift) -> None:
        for j, g in grad.items():
            for p, c in lift.entries(j):
                self.grad[p] += weighted_sum(weights if c is None else weights * c, g)

    def add_hess(self, weights: np.ndarray, hess: dict[tuple[int, int], Value], lift: Lift) -> None:
        for (j, k), h in hess.items():
            for p, cp in lift.entries(j):
                scaled = weights if cp is None else weights * cp
                for q, cq in lift.entries(k):
                    s = weighted_sum(scaled if cq is None else scaled * cq, h)
                    self.hess[p, q] += s
                    if j != k:
                        self.hess[q, p] += s

    def add_outer(self, weights: np.ndarray, vectors: dict[int, Value], lift: Lift) -> None:
        """Σ weights · (A_iᵀv_i)(A_iᵀv_i)ᵀ."""
        lifted = lift.lifted(vectors)
        keys = sorted(lifted)
        for n, p in enumerate(keys):
            scaled = weights * lifted[p]
            for q in keys[n:]:
                s = weighted_sum(scaled, lifted[q])
                self.hess[p, q] += s
                if p != q:
                    self.hess[q, p] += s

    def add(self, weights: np.ndarray, term: Term, lift: Lift) -> None:
        """A term with every row weighted by ``weights``."""
        self.add_value(weights, term.value)
        if self.order >= 1:
            self.add_grad(weights, term.grad, lift)
        if self.order == 2:
            self.add_hess(weights, term.hess, lift)

    def add_log_sum_exp(self, weights: np.ndarray, first: Term, second: Term, lift: Lift) -> None:
        """The term log(e^first + e^second), from the two terms and their derivatives.

        With w the share e^second / (e^first + e^second), the gradient is
        g1 + w (g2 − g1) and the Hessian H1 + w (H2 − H1) + w (1 − w)(g2 − g1)(g2 − g1)ᵀ.
        """
        gap = second.value - first.value
        # Clipping at ±700 changes nothing representable (e^-700 ~ 1e-304) but keeps exp() off the
        # denormal and infinite inputs it handles many times slower; the value takes the whole gap.
        d = np.clip(gap, -700.0, 700.0)
        small = np.exp(-np.abs(d))
        self.add_value(weights, first.value + np.maximum(gap, 0.0) + np.log1p(small))
        if self.order == 0:
            return
        share = np.where(d > 0, 1.0, small) / (1.0 + small)
        weighted_share = weights * share
        diff_grad = _difference(second.grad, first.grad)
        self.add_grad(weights, first.grad, lift)
        self.add_grad(weighted_share, diff_grad, lift)
        if self.order == 2:
            self.add_hess(weights - weighted_share, first.hess, lift)
            self.add_hess(weighted_share, second.hess, lift)
            self.add_outer(weighted_share * (1.0 - share), diff_grad, lift)

    def result(self) -> float | tuple:
        """(value), (value, gradient) or (value, gradient, Hessian), by order."""
        if self.order == 0:
            return self.value
        if self.order == 1:
            return self.value, self.grad
        return self.value, self.grad, self.hess


def _difference(second: dict, first: dict) -> dict:
    """second − first, entry by entry (missing entries are zero)."""
    out = {key: value - first[key] if key in first else value for key, value in second.items()}
    for key, value in first.items():
        if key not in second:
            out[key] = -value
    return out
