"""Makes ``asdkit.npz``: the scores of ASDKit's own ``Kmeans`` and ``Knn`` backends on fixed embeddings, which
``tests/test_methods_asdkit.py`` compares ``asdkit-kmeans``, ``asdkit-knn`` and ``knn-smote`` against.

Not run by ``make test``: ``tests/golden/regenerate_asdkit.sh ASDKIT_CHECKOUT`` runs it. Nothing of asdbench is
imported and nothing of ASDKit is transcribed: the backends are ASDKit's modules (TakuyaFujimura/dcase-asd-toolkit
at ed27d82, ``asdkit/backends/kmeans.py`` and ``knn.py``), imported from the checkout and called as
``asdkit/utils/asdkit_utils/score.py``'s ``add_score`` calls them (``fit`` on the train dict, ``anomaly_score`` on
each split's dict, the ``"main"`` scores), with the options of ``config/score/experiments/default.yaml`` and a few
more. The embeddings come from ``inputs.py`` (numpy only) as float32, as ASDKit's ``*_extract.npz`` holds them.

It also holds the output of ASDKit's ``SpecAug`` (``asdkit/augmentations/specaug.py``) on fixed waveforms of
``inputs.py``, in training mode, called as ``BasicDisPLModel.training_step`` calls an augmentation (on the batch
dict; its default target key ``wave``), after ``torch.manual_seed`` of each case: ``tests/test_methods_specaug.py``
seeds torch alike and compares ``specaug`` (every ``inputs.SPECAUG_STRIDE``-th sample of each clip, and a summary of
the whole output, so that the file stays small). Its masks come from torchaudio's ``TimeMasking`` and
``FrequencyMasking``, at the torchaudio ASDKit pins (2.1.1; its transforms are pure Python and run on the torch of
the environment, the native libraries moved aside as regenerate_asdkit.sh does).

One thing is arranged: ``asdkit/utils/common/__init__.py`` imports hydra for helpers the backends and SpecAug do
not use, so that package is entered without running its ``__init__`` (the backends import only its ``np_util``,
SpecAug its ``re_match_any``).
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkouts import git_commit

import inputs  # numpy only, shared with the tests

KMEANS = {"kmeans16": 16, "kmeans4": 4}
"""Name -> ``n_clusters`` of ``asdkit.backends.Kmeans`` (metric "cosine"; 16 is default.yaml's)."""
KNN = {
    "knn_1_1": dict(n_neighbors_so=1, n_neighbors_ta=1, smote_ratio=0.0, smote_neighbors=0),  # default.yaml's first
    "knn_4_2": dict(n_neighbors_so=4, n_neighbors_ta=2, smote_ratio=0.0, smote_neighbors=0),
    "knn_smote_1_1": dict(n_neighbors_so=1, n_neighbors_ta=1, smote_ratio=0.2, smote_neighbors=2),  # its third
    "knn_smote_3_2": dict(n_neighbors_so=3, n_neighbors_ta=2, smote_ratio=0.2, smote_neighbors=2),
}
"""Name -> options of ``asdkit.backends.Knn`` (metric "cosine", its default)."""


SPECAUG = {
    "default-1s": ({}, inputs.SPECAUG_SHORT_SECONDS, (0, 1, 2)),
    "default-4s": ({}, inputs.SPECAUG_LONG_SECONDS, (3, 4)),
    "always-narrow": (dict(time_width=20, time_prob=1.0, freq_width=30, freq_prob=1.0), inputs.SPECAUG_LONG_SECONDS,
                      (5,)),
    "hamming-512": (dict(time_width=40, freq_width=60, stft_n_fft=512, stft_window_type="hamming"),
                    inputs.SPECAUG_LONG_SECONDS, (6, 7)),
    "time-only-hop-300": (dict(time_prob=1.0, freq_width=0, stft_hop_length=300), inputs.SPECAUG_LONG_SECONDS, (8,)),
}
"""Case -> (options of ``asdkit.augmentations.SpecAug`` beside its defaults, clip seconds, torch seeds): ``{}`` is
ASDKit's default SpecAug (widths 80, probabilities 0.5, a 1024-point Hann STFT with hop 256); on 1 s clips (63
frames) a time mask can be wider than the clip."""


def import_asdkit(checkout: Path) -> types.ModuleType:
    common = checkout / "asdkit" / "utils" / "common"
    package = types.ModuleType("asdkit.utils.common")
    package.__path__ = [str(common)]
    sys.modules["asdkit.utils.common"] = package
    sys.path.insert(0, str(checkout))
    from asdkit.utils.common.match import re_match_any

    package.re_match_any = re_match_any
    import asdkit.augmentations
    import asdkit.backends

    return asdkit


def extract_dict(data: dict[str, np.ndarray], split: str) -> dict[str, np.ndarray]:
    """The keys of ASDKit's extract dict that its backends read (one section, as a DCASE 2023 / 2024 machine)."""
    embeddings = data[split]
    return {"embed": embeddings, "is_target": data[f"{split}_is_target"], "section": np.zeros(len(embeddings), int)}


def reference_scores(backends: types.ModuleType) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in inputs.ASDKIT_SETS:
        data = inputs.asdkit_set(name)
        out[f"{name}/input"] = inputs.fingerprint(np.concatenate([data["train"].ravel(), data["test"].ravel()]))
        made = {key: backends.Kmeans(n_clusters=n, metric="cosine") for key, n in KMEANS.items()}
        made.update({key: backends.Knn(metric="cosine", **options) for key, options in KNN.items()})
        for key, backend in made.items():
            backend.fit(extract_dict(data, "train"))
            for split in ("train", "test"):
                out[f"{name}/{key}/{split}"] = backend.anomaly_score(extract_dict(data, split))["main"]
    return out


def specaug_outputs(augmentations: types.ModuleType) -> dict[str, np.ndarray]:
    import torch

    out: dict[str, np.ndarray] = {}
    for case, (options, seconds, seeds) in SPECAUG.items():
        waves = inputs.waveforms(f"specaug/{case}", inputs.SPECAUG_BATCH, seconds)
        out[f"specaug/{case}/input"] = inputs.fingerprint(waves.ravel())
        augmentation = augmentations.SpecAug(**options).train()
        for seed in seeds:
            torch.manual_seed(seed)
            batch = {"wave": torch.from_numpy(waves), "onehot_main": torch.eye(inputs.SPECAUG_BATCH)}
            output = augmentation(batch)["wave"].numpy()
            out[f"specaug/{case}/{seed}"] = output[:, :: inputs.SPECAUG_STRIDE]
            out[f"specaug/{case}/{seed}/summary"] = inputs.summary(f"specaug/{case}/{seed}", output)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="a checkout of TakuyaFujimura/dcase-asd-toolkit")
    parser.add_argument("out", type=Path, help="the folder of asdkit.npz and asdkit_provenance.json (tests/golden)")
    write_golden(**vars(parser.parse_args()))


def write_golden(checkout: Path, out: Path) -> None:
    checkout = checkout.resolve()
    asdkit = import_asdkit(checkout)
    scores = {**reference_scores(asdkit.backends), **specaug_outputs(asdkit.augmentations)}
    np.savez_compressed(out / "asdkit.npz", **scores)
    provenance = {
        "reference": "https://github.com/TakuyaFujimura/dcase-asd-toolkit",
        "reference_commit": git_commit(checkout),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scikit-learn": __import__("sklearn").__version__,
        "imbalanced-learn": __import__("imblearn").__version__,
        "torch": __import__("torch").__version__,
        "torchaudio": __import__("torchaudio").__version__,
        "command": "tests/golden/regenerate_asdkit.sh ASDKIT_CHECKOUT",
    }
    (out / "asdkit_provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"{out / 'asdkit.npz'}: {len(scores)} arrays")


if __name__ == "__main__":
    main()
