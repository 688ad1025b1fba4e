"""``genrep``: the scoring of GenRep (Saengthong and Shinozaki, "Deep Generic Representations for
Domain-Generalized Anomalous Sound Detection", arXiv 2409.05035): kNN on a source and a target memory bank,
the target bank grown by MemMixup, the two domains' distances put on one scale by domain normalisation.

Read from the authors' code (Phuriches/GenRepASD at f3f1569, ``run_genrep_dcase2023.py``; its README gives the
published setting, ``--n_mix_support 990 --alpha 0.9`` with the default ``--top_k 1``):

- MemMixup: each target-domain training embedding t is mixed with each of its ``mix_support`` (K_s) nearest
  (Euclidean) source-domain training embeddings s: ``alpha * t + (1 - alpha) * s``. The mixtures join the target
  bank, beside the target embeddings themselves. The published K_s = 990 is every source clip of a DCASE
  machine; a machine with fewer source clips mixes with all of them. ``mix_support = 0``: no MemMixup.
- kNN: a clip's distance to a bank is the mean Euclidean distance to its ``k`` nearest members there.
- Domain normalisation: each domain's distances are standardised by their mean and standard deviation over the
  clips scored together, then the score is the smaller of the two. asdbench scores one machine's test clips in
  one call, so, as in the published code, the statistics are those of the machine's test clips: the method is
  transductive (it needs the test set's distance distribution, not one clip at a time).
  ``domain_normalisation = false`` takes the smaller raw distance (the paper's ablation without it).

Distances are Euclidean on z_cat as the networks output it, not L2-normalised (the backend is registered with
``raw_embeddings=True``, so a spec using it sets ``system.embeddings = "raw"``), as GenRep's are on the raw pooled
BEATs features.
"""

from __future__ import annotations

import numpy as np

from asdbench.api import AsdbenchError
from asdbench_methods.neighbours import mean_nearest_distances


def memmixup(source: np.ndarray, target: np.ndarray, *, support: int, alpha: float) -> np.ndarray:
    """The MemMixup mixtures, ``(len(target) * min(support, len(source)), D)``: for each target row in turn, its
    mixtures with its ``support`` nearest source rows (all of them when there are fewer), nearest first."""
    squared = (target**2).sum(1)[:, None] + (source**2).sum(1)[None, :] - 2.0 * target @ source.T
    nearest = np.argsort(squared, axis=1, kind="stable")[:, :support]
    return (alpha * target[:, None, :] + (1 - alpha) * source[nearest]).reshape(-1, source.shape[1])


def standardise(distances: np.ndarray, domain: str) -> np.ndarray:
    """(d - mean) / std over the clips scored together, as GenRep's domain normalisation."""
    spread = distances.std()
    if not spread > 0:
        raise AsdbenchError(f"backend 'genrep': the {domain} distances of the {len(distances)} clips scored together "
                            "have no spread, so domain normalisation cannot standardise them; score more clips "
                            "together or set domain_normalisation = false")
    return (distances - distances.mean()) / spread


class GenRepBackend:
    """``genrep``: see the module docstring."""

    def __init__(self, *, k: int, mix_support: int, alpha: float, domain_normalisation: bool) -> None:
        self.k, self.mix_support, self.alpha = k, mix_support, alpha
        self.domain_normalisation = domain_normalisation
        self._banks: tuple[np.ndarray, np.ndarray] | None = None

    def check_data(self, domains: np.ndarray) -> None:
        """Refuse, before any training, a machine without the clips the banks need."""
        domains = np.asarray(domains)
        sources, targets = int((domains == "source").sum()), int((domains == "target").sum())
        problem = (
            "no target-domain clips" if targets == 0 else
            f"{sources} source-domain clips for k={self.k}" if sources < self.k else
            f"{targets * (1 + min(self.mix_support, sources))} target-bank embeddings for k={self.k}"
            if targets * (1 + min(self.mix_support, sources)) < self.k else None
        )
        if problem:
            raise AsdbenchError(f"backend 'genrep': {problem}; change the backend's options for this dataset")

    def fit(self, embeddings: np.ndarray, domains: np.ndarray) -> None:
        domains = np.asarray(domains)
        self.check_data(domains)
        embeddings = np.asarray(embeddings, dtype=np.float64)
        source, target = embeddings[domains == "source"], embeddings[domains == "target"]
        if self.mix_support:
            target = np.concatenate([target, memmixup(source, target, support=self.mix_support, alpha=self.alpha)])
        self._banks = source, target

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        if self._banks is None:
            raise AsdbenchError("backend 'genrep': score() called before fit()")
        queries = np.asarray(embeddings, dtype=np.float64)
        source, target = (mean_nearest_distances(queries, bank, self.k) for bank in self._banks)
        if self.domain_normalisation:
            source, target = standardise(source, "source"), standardise(target, "target")
        return np.minimum(source, target)
