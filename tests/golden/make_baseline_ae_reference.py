"""Makes ``baseline_ae.npz``: what the DCASE Task 2 autoencoder baseline's own code computes on fixed clips and
weights, which ``tests/test_baseline_ae.py`` compares ``log-mel``, ``dcase-ae``, ``reconstruction``,
``reconstruction-mse`` and ``selective-mahalanobis`` against.

Not run by ``make test``: ``tests/golden/regenerate_baseline_ae.sh CHECKOUT`` runs it in the baseline's own virtual
environment. Nothing of asdbench is imported and nothing of the baseline is transcribed: its modules
(nttcslab/dcase2023_task2_baseline_ae at 9b64dc4) are imported from the checkout and called:

- features: ``datasets/loader_common.py``'s ``file_to_vectors`` on each clip, written as a float WAV, with
  ``baseline.yaml``'s feature options;
- the network: ``networks/dcase2023t2_ae/network.py``'s ``AENet(640, 128)`` with the weights of ``inputs.tensor``;
- the loss: ``DCASE2023T2AE.loss_fn`` reduced as ``DCASE2023T2AE.train`` reduces it, in training mode, over every
  training vector as one batch;
- the covariance pass: ``DCASE2023T2AE.train`` at epoch ``epochs + 1``, on a loader of the training vectors named
  as the data's files are (``..._source_...``/``..._target_...``), once as one batch and once in shuffled batches
  of 256 vectors (``baseline.yaml``'s batch size: its per-batch centring, which asdbench does not reproduce);
- the scores: ``DCASE2023T2AE.eval`` with ``--score MSE`` and ``MAHALA`` on each clip (one batch per clip, as its
  test loader), test and training clips.

What is arranged: the model object is made without ``__init__`` (which reads a dataset from disk and writes
folders) and given the attributes those methods read; its ``fit_anomaly_score_distribution`` (the decision
threshold's gamma fit, which asdbench does its own way) is replaced by a no-op; files it saves go to a temporary
folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkouts import git_commit

import inputs  # numpy only, shared with the tests

FEATURES = dict(n_mels=128, n_frames=5, n_fft=1024, hop_length=512, power=2.0, fmax=None, fmin=0.0, win_length=None)
"""``baseline.yaml``'s feature options, as ``file_to_vectors`` names them."""
BLOCK = 128


def features(file_to_vectors, clips: np.ndarray, folder: Path) -> np.ndarray:
    import soundfile as sf

    vectors = []
    for index, clip in enumerate(clips):
        path = folder / f"clip_{index}.wav"
        sf.write(path, clip, inputs.SAMPLE_RATE, subtype="FLOAT")
        vectors.append(file_to_vectors(str(path), mono=True, **FEATURES))
    return np.stack(vectors)


def reference(checkout: Path) -> dict[str, np.ndarray]:
    sys.path.insert(0, str(checkout))
    os.chdir(checkout)
    import torch
    from datasets.loader_common import file_to_vectors
    from networks.criterion.mahala import calc_inv_cov
    from networks.dcase2023t2_ae.dcase2023t2_ae import DCASE2023T2AE
    from networks.dcase2023t2_ae.network import AENet
    from torch.utils.data import DataLoader

    out: dict[str, np.ndarray] = {}
    work = Path(tempfile.mkdtemp())
    for name in inputs.BASELINE_AE_SETS:
        data = inputs.baseline_ae_set(name)
        out[f"{name}/input"] = inputs.fingerprint(np.concatenate([data["train"].ravel(), data["test"].ravel()]))
        train, test = features(file_to_vectors, data["train"], work), features(file_to_vectors, data["test"], work)
        out[f"{name}/features/train"], out[f"{name}/features/test"] = train, test

        model = AENet(input_dim=train.shape[2], block_size=BLOCK)
        state = {key: torch.from_numpy(inputs.tensor(f"baseline-ae/{key}", tuple(value.shape)))
                 for key, value in model.state_dict().items()
                 if not key.startswith("cov_") and not key.endswith("num_batches_tracked")}
        model.load_state_dict(state, strict=False)

        net = DCASE2023T2AE.__new__(DCASE2023T2AE)
        net.fit_anomaly_score_distribution = lambda **kwargs: None
        net.args = types.SimpleNamespace(epochs=1, log_interval=100, score="MSE")
        net.epoch, net.block_size, net.device = 0, BLOCK, torch.device("cpu")
        net.mahala_score_distr_file_path = work / "mahala.pickle"
        net.model_path, net.checkpoint_path = work / "model.pth", work / "checkpoint.tar"

        flat = torch.from_numpy(train.reshape(-1, train.shape[2])).float()
        trained = AENet(input_dim=train.shape[2], block_size=BLOCK)
        trained.load_state_dict(model.state_dict())
        trained.train()
        recon, _ = trained(flat)
        score_2d = net.loss_fn(recon, flat)
        out[f"{name}/loss"] = np.array(float(net.loss_reduction(net.loss_reduction_1d(score_2d), len(score_2d))))

        names = [f"section_00_{domain}_train_normal_{i:04d}_.wav" for i, domain in enumerate(data["train_domains"])]
        rows = [(vector, 0, np.ones(1), names[clip], 0) for clip in range(len(train)) for vector in train[clip]]
        for batching, loader in (("one-batch", DataLoader(rows, batch_size=len(rows))),
                                 ("batches-256", DataLoader(rows, batch_size=256, shuffle=True,
                                                            generator=torch.Generator().manual_seed(0)))):
            net.model = AENet(input_dim=train.shape[2], block_size=BLOCK)
            net.model.load_state_dict(model.state_dict())
            net.optimizer = torch.optim.Adam(net.model.parameters(), lr=1e-3)
            net.train_loader, net.valid_loader = loader, DataLoader([])
            net.train(net.args.epochs + 1)  # the covariance pass
            torch.set_grad_enabled(True)
            out[f"{name}/{batching}/cov_source"] = net.model.cov_source.data.numpy().copy()
            out[f"{name}/{batching}/cov_target"] = net.model.cov_target.data.numpy().copy()
            if batching != "one-batch":
                continue
            inv_source, inv_target = calc_inv_cov(net.model)
            for subset, vectors in (("test", test), ("train", train)):
                clips = [(vector, 0, np.ones(1), f"clip_{clip}", 0) for clip in range(len(vectors))
                         for vector in vectors[clip]]
                for score in ("MSE", "MAHALA"):
                    net.args.score = score
                    with torch.no_grad():
                        scores = net.eval(DataLoader(clips, batch_size=vectors.shape[1]), [], [], [], [], [],
                                          decision_threshold=0.0, mode=False, inv_cov_source=inv_source,
                                          inv_cov_target=inv_target)[0]
                    out[f"{name}/scores/{score}/{subset}"] = np.asarray(scores)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="a checkout of nttcslab/dcase2023_task2_baseline_ae")
    parser.add_argument("out", type=Path, help="the folder of baseline_ae.npz (tests/golden)")
    args = parser.parse_args()
    checkout, out = args.checkout.resolve(), args.out.resolve()
    commit = git_commit(checkout)
    golden = reference(checkout)
    np.savez_compressed(out / "baseline_ae.npz", **golden)
    from importlib.metadata import version

    provenance = {
        "repository": "nttcslab/dcase2023_task2_baseline_ae", "commit": commit,
        "python": sys.version.split()[0],
        "versions": {name: version(name) for name in ("torch", "librosa", "numpy", "scipy", "scikit-learn",
                                                      "soundfile")},
        "environment": "the baseline's requirements.txt (scipy, librosa, matplotlib, tqdm, seaborn, fasteners, "
                       "PyYAML) at the versions this machine's index offers, and torch 2.13.0 CPU: its pinned "
                       "torch==2.6.0+cu118 and torchvision (which its modules do not import) are not installable here",
    }
    (out / "baseline_ae_provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")


if __name__ == "__main__":
    main()
