"""The DCASE baseline's two scorings of a reconstruction network's statistics (:mod:`asdbench_methods.errorstats`).

Both read nttcslab/dcase2023_task2_baseline_ae (``networks/dcase2023t2_ae/dcase2023t2_ae.py``, ``eval`` and
``train`` at epoch ``epochs + 1``; ``networks/criterion/mahala.py``).
"""

from __future__ import annotations

import numpy as np

from asdbench.api import AsdbenchError
from asdbench_methods.errorstats import ErrorStatistics


class ReconstructionMSEBackend:
    """``reconstruction-mse``: the clip's mean squared reconstruction error (the baseline's ``--score MSE``)."""

    def fit(self, embeddings: np.ndarray, domains: np.ndarray) -> None:
        ErrorStatistics.unpack(embeddings, "backend 'reconstruction-mse'")

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        return ErrorStatistics.unpack(embeddings, "backend 'reconstruction-mse'").mse


class SelectiveMahalanobisBackend:
    """``selective-mahalanobis``: the smaller of a clip's Mahalanobis distances under the source and the target
    covariance of the training clips' residual rows (the baseline's ``--score MAHALA``).

    What the baseline computes, and asdbench by default:

    - each domain's covariance is the scatter of its training clips' residual rows (128 mel bins each: a 640-d
      vector is 5 rows) divided by the number of *vectors* minus one (``cov_x /= num - 1``, ``num`` counting
      vectors), five times the rows' covariance. ``covariance_divisor = "rows"`` divides by the rows minus one;
    - a machine without target training clips uses the source covariance for the target (``cov_x_target =
      cov_x_source``), so its score is the source distance;
    - a clip's distance is ``mahalanobis(..., reduction=False)`` reduced by a mean over one axis and a sum over
      the other divided by the row count: the mean over all pairs of rows (i, j) of ``d_i^T P d_j``, cross-row
      terms included, which is the Mahalanobis distance of the clip's *mean* residual row ``m^T P m``.
      ``cross_row_terms = false`` takes the mean over rows of each row's own distance ``d_i^T P d_i`` instead.

    One thing asdbench does not reproduce: the baseline accumulates the scatter per batch of 256 shuffled training
    vectors, each batch's rows centred on that batch's mean, a random quantity that depends on the batching;
    asdbench centres every domain's rows on their common mean, which is the baseline's value with all training
    vectors in one batch. The difference is the between-batch scatter, of the order of one row covariance per
    batch against the thousands of rows summed (tests/golden/make_baseline_ae_reference.py measures it).
    Covariances are inverted in float64 (the baseline: ``torch.inverse`` in float32).
    """

    def __init__(self, *, covariance_divisor: str, cross_row_terms: bool) -> None:
        self.covariance_divisor, self.cross_row_terms = covariance_divisor, cross_row_terms
        self.precisions: list[np.ndarray] = []

    def fit(self, embeddings: np.ndarray, domains: np.ndarray) -> None:
        statistics = ErrorStatistics.unpack(embeddings, "backend 'selective-mahalanobis'")
        domains = np.asarray(domains)
        source = statistics.select(domains == "source")
        if not len(source):
            raise AsdbenchError("backend 'selective-mahalanobis': needs source-domain training clips; this unit has "
                                "none")
        target = statistics.select(domains == "target")
        self.precisions = [self._precision(source, "source")]
        self.precisions.append(self._precision(target, "target") if len(target) else self.precisions[0])

    def _precision(self, statistics: ErrorStatistics, domain: str) -> np.ndarray:
        count = statistics.vectors.sum() if self.covariance_divisor == "vectors" else statistics.rows.sum()
        if count < 2:
            raise AsdbenchError(f"backend 'selective-mahalanobis': the {domain} training clips have {count:g} "
                                f"{self.covariance_divisor}, too few for a covariance")
        covariance = statistics.pooled_scatter() / (count - 1)
        try:
            return np.linalg.inv(covariance)
        except np.linalg.LinAlgError:
            raise AsdbenchError(f"backend 'selective-mahalanobis': the covariance of the {domain} training clips' "
                                "residual rows is singular (fewer rows than mel bins, or a constant bin): give "
                                "the unit more or longer clips") from None

    def check_data(self, domains: np.ndarray) -> None:
        """Refuse, before any training, a unit without source-domain training clips."""
        if not (np.asarray(domains) == "source").any():
            raise AsdbenchError("backend 'selective-mahalanobis': needs source-domain training clips; a unit has "
                                "none")

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        if not self.precisions:
            raise AsdbenchError("backend 'selective-mahalanobis': score() called before fit()")
        statistics = ErrorStatistics.unpack(embeddings, "backend 'selective-mahalanobis'")
        mean = statistics.mean
        if self.cross_row_terms:
            distances = [np.einsum("nd,de,ne->n", mean, precision, mean) for precision in self.precisions]
        else:
            second_moment = statistics.covariance + mean[:, :, None] * mean[:, None, :]
            distances = [np.einsum("nde,de->n", second_moment, precision) for precision in self.precisions]
        return np.minimum(*distances)
