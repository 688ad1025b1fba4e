"""Make the golden files of tests/test_golden.py by running the authors' code (TakuyaFujimura/unlabeledasd).

Not run by ``make test``: ``tests/golden/regenerate.sh`` builds the reference's own virtual environment and
runs this file there, as ``python generate.py REFERENCE_CHECKOUT OUT_DIR``. Nothing of asdbench is imported:
the inputs and weights come from ``inputs.py`` (numpy only), and every output below is computed by the
reference's modules, PL models, backend, ensemble script and evaluator, called as its own scripts call them.

Where the reference must be told something its pinned environment gave it implicitly, it says so here:
scikit-learn 1.1.1 (the authors' pin) ran KMeans with ``n_init=10``; scikit-learn >= 1.4 defaults to one run,
so the backend's KMeans is rebuilt with ``n_init=10`` and the same ``random_state=0``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf
from sklearn.cluster import KMeans

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inputs  # numpy only, shared with the tests

LABEL_KEY = "onehot_y"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="a checkout of TakuyaFujimura/unlabeledasd")
    parser.add_argument("out", type=Path, help="where the golden .npz files go (tests/golden)")
    args = parser.parse_args()
    reference = args.reference.resolve()
    sys.path.insert(0, str(reference))
    torch.set_grad_enabled(True)
    args.out.mkdir(parents=True, exist_ok=True)
    save(args.out / "frontends.npz", frontends())
    save(args.out / "networks.npz", networks())
    save(args.out / "losses.npz", losses())
    save(args.out / "system_subspace.npz", system_step("subspace"))
    save(args.out / "system_featex.npz", system_step("featex"))
    save(args.out / "scoring.npz", scoring(reference))
    save(args.out / "clustering.npz", clustering(reference))
    provenance = {
        "reference": "https://github.com/TakuyaFujimura/unlabeledasd",
        "reference_commit": git_commit(reference),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": __import__("sklearn").__version__,
        "command": "tests/golden/regenerate.sh REFERENCE_CHECKOUT",
    }
    (args.out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")


# --- helpers ---------------------------------------------------------------------------------------------


def save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in arrays.items()})
    print(f"{path}: {len(arrays)} arrays, {path.stat().st_size / 1024:.0f} KiB")


def git_commit(reference: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(reference), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return (reference / "REFERENCE_COMMIT").read_text().strip()


def fill(module: torch.nn.Module, prefix: str) -> None:
    """Every floating-point weight and buffer from inputs.tensor, named by ``prefix`` + its state-dict key.

    The STFT's Hann window (a torchaudio buffer) is not a weight and keeps its value.
    """
    with torch.no_grad():
        for key, value in module.state_dict().items():
            if value.is_floating_point() and value.ndim > 0 and not key.endswith("stft.window"):
                value.copy_(torch.from_numpy(inputs.tensor(prefix + key, tuple(value.shape))))


def summary(name: str, values: torch.Tensor) -> np.ndarray:
    """inputs.summary of a tensor."""
    return inputs.summary(name, values.detach().double().numpy())


class DrawRecorder:
    """Records what the reference's augmentation layers draw (torch.rand and get_perm) during one call."""

    def __init__(self) -> None:
        import models.augmentations as augmentations

        self.augmentations = augmentations
        self.rand_calls: list[torch.Tensor] = []
        self.perm_calls: list[torch.Tensor] = []

    def __enter__(self) -> DrawRecorder:
        self._rand, self._perm = torch.rand, self.augmentations.get_perm

        def rand(*args, **kwargs):
            result = self._rand(*args, **kwargs)
            self.rand_calls.append(result.clone())
            return result

        def perm(*args, **kwargs):
            result = self._perm(*args, **kwargs)
            self.perm_calls.append(result.clone())
            return result

        torch.rand, self.augmentations.get_perm = rand, perm
        return self

    def __exit__(self, *exc) -> None:
        torch.rand, self.augmentations.get_perm = self._rand, self._perm


def stft_config(n_fft: int, temporal_norm) -> dict:
    """One entry of the reference's ``stft_cfg_list``, as its experiment YAMLs write it."""
    return {"sr": inputs.SAMPLE_RATE, "n_fft": n_fft, "hop_length": n_fft // 2, "n_mels": None, "power": 1.0,
            "use_mel": False, "f_min": 200.0, "f_max": 8000.0, "temporal_norm": temporal_norm}


# --- components ------------------------------------------------------------------------------------------


def frontends() -> dict[str, np.ndarray]:
    from models.stft import FFT, STFT

    short = torch.from_numpy(inputs.waveforms("frontend", 1, inputs.FRONTEND_SECONDS))
    long = torch.from_numpy(inputs.waveforms("long", 1, inputs.LONG_SECONDS))
    out = {"input_short": inputs.fingerprint(short.numpy()), "input_long": inputs.fingerprint(long.numpy())}
    out["spectrum_short"] = FFT()(short).numpy()
    out["spectrum_long_every64"] = FFT()(long)[0, ::64].numpy()
    # the Table I typo: YAML reads `temporal_norm: fals` as the string "fals", which is truthy
    variants = [(256, False), (1024, False), (4096, False), (4096, "fals")]
    for n_fft, temporal_norm in variants:
        stft = STFT(**stft_config(n_fft, temporal_norm))
        name = f"stft{n_fft}" + ("_fals" if temporal_norm else "")
        out[f"{name}_short"] = stft(short).numpy()
        spectrogram = stft(long)[0].double()
        out[f"{name}_long_bin_means"] = spectrogram.mean(dim=1).numpy()
        out[f"{name}_long_frame_means"] = spectrogram.mean(dim=0).numpy()
    return out


def networks() -> dict[str, np.ndarray]:
    from models.multi_resolution_net import FFTEncoderLayer, STFT2dEncoderLayer
    from models.stft import FFT, STFT

    waves = torch.from_numpy(inputs.waveforms("networks", inputs.SYSTEM_BATCH, inputs.SYSTEM_SECONDS))
    out = {"input": inputs.fingerprint(waves.numpy())}
    branches = {"spectrum": (FFT(), lambda shape: FFTEncoderLayer(inputs.SYSTEM_SECONDS, inputs.SAMPLE_RATE))}
    for n_fft in (256, 1024, 4096):
        branches[f"stft{n_fft}"] = (STFT(**stft_config(n_fft, False)), lambda shape: STFT2dEncoderLayer(list(shape)))
    for name, (frontend, make) in branches.items():
        features = frontend(waves)
        network = make(features.shape[1:])
        fill(network, f"{name}/")
        network.eval()
        with torch.no_grad():
            out[f"{name}_eval"] = network(features).numpy()
        network.train()
        with torch.no_grad():
            out[f"{name}_train"] = network(features).numpy()
    long = torch.zeros(1, inputs.LONG_SECONDS * inputs.SAMPLE_RATE)
    counts = {"spectrum": FFTEncoderLayer(inputs.LONG_SECONDS, inputs.SAMPLE_RATE)}
    for n_fft in (256, 1024, 4096):
        counts[f"stft{n_fft}"] = STFT2dEncoderLayer(list(STFT(**stft_config(n_fft, False))(long).shape[1:]))
    for name, network in counts.items():
        out[f"{name}_parameters_18s"] = np.array(sum(p.numel() for p in network.parameters() if p.requires_grad))
    return out


def losses() -> dict[str, np.ndarray]:
    from models.augmentations import FeatExLayer, MixupLayer
    from models.loss import SCAdaCos

    classes, subclusters, dims = 5, 16, (16, 16, 16)
    out: dict[str, np.ndarray] = {}
    branches = [torch.from_numpy(inputs.embeddings(f"branch{i}", 6, d)).requires_grad_() for i, d in enumerate(dims)]
    targets = torch.from_numpy(inputs.soft_targets("losses", 6, classes))
    concat = torch.cat(branches, dim=1)

    for trainable in (False, True):
        head = SCAdaCos(sum(dims), classes, subclusters, trainable=trainable, dynamic=False)
        fill(head, "scac/")
        loss = head(concat, targets)
        grads = torch.autograd.grad(loss, branches + ([head.W] if trainable else []))
        tag = "scac_trainable" if trainable else "scac"
        out[f"{tag}_loss"] = loss.detach().numpy()
        out[f"{tag}_grad_branches"] = torch.cat(grads[:3], dim=1).numpy()
        if trainable:
            out[f"{tag}_grad_centres"] = summary(f"{tag}_grad_centres", grads[3])
    out["scac_scale"] = np.array(float(head.s))

    # the subspace loss, composed as SubspaceLossPLModel.training_step composes it (lam = 1)
    main_head = SCAdaCos(sum(dims), classes, subclusters, trainable=False, dynamic=False)
    fill(main_head, "subspace/main/")
    split_heads = [SCAdaCos(d, classes, subclusters, trainable=True, dynamic=False) for d in dims]
    for i, head in enumerate(split_heads):
        fill(head, f"subspace/split{i}/")
    main_loss = main_head(concat, targets)
    aux_loss = sum(head(z, targets) for head, z in zip(split_heads, branches))
    grads = torch.autograd.grad(main_loss + aux_loss, branches + [h.W for h in split_heads])
    out["subspace_main_loss"] = main_loss.detach().numpy()
    out["subspace_aux_loss"] = aux_loss.detach().numpy()
    out["subspace_grad_branches"] = torch.cat(grads[:3], dim=1).numpy()
    out["subspace_grad_centres"] = summary("subspace_grad_centres", torch.stack(grads[3:]))

    # FeatEx: FeatExPLModel's exchange layer and its trainable (M + 1) C head
    torch.manual_seed(0)
    featex = FeatExLayer(0.5, [LABEL_KEY], len(dims)).train()
    with DrawRecorder() as draws:
        z_ex, labels = featex(branches, {LABEL_KEY: targets})
    head = SCAdaCos(sum(dims), classes * (len(dims) + 1), subclusters, trainable=True, dynamic=False)
    fill(head, "featex/")
    loss = head(z_ex, labels[LABEL_KEY])
    grads = torch.autograd.grad(loss, branches + [head.W])
    out["featex_exchanged"] = (draws.rand_calls[0] < 0.5).numpy()
    out["featex_permutations"] = torch.stack(draws.perm_calls).numpy()
    out["featex_z_ex"] = z_ex.detach().numpy()
    out["featex_labels"] = labels[LABEL_KEY].numpy()
    out["featex_loss"] = loss.detach().numpy()
    out["featex_grad_branches"] = torch.cat(grads[:3], dim=1).numpy()
    out["featex_grad_centres"] = summary("featex_grad_centres", grads[3])

    # mixup on waveforms, as SubspaceLossPLModel and FeatExPLModel apply it
    torch.manual_seed(1)
    waves = torch.from_numpy(inputs.waveforms("mixup", 8, 0.05))
    one_hot = torch.from_numpy(inputs.one_hot_targets("mixup", 8, classes))
    mixup = MixupLayer(0.5, [LABEL_KEY]).train()
    with DrawRecorder() as draws:
        mixed, mixed_labels = mixup(waves, {LABEL_KEY: one_hot})
    out["mixup_input"] = inputs.fingerprint(waves.numpy())
    out["mixup_lambda"] = draws.rand_calls[0].numpy()
    out["mixup_applied"] = (draws.rand_calls[1] < 0.5).numpy()
    out["mixup_partner"] = draws.perm_calls[0].numpy()
    out["mixup_waveforms"] = mixed.numpy()
    out["mixup_targets"] = mixed_labels[LABEL_KEY].numpy()
    return out


# --- one training step of the paper's systems -----------------------------------------------------------


def system_config(aux: str) -> OmegaConf:
    """The reference's model config (config/model/subloss.yaml or featex.yaml) for spectrum + STFT 256 + 4096.

    The STFT branches are listed 256 then 4096, the order of asdbench's spec (the published YAML lists 4096
    first; the order only permutes which branch is which).
    """
    model_cfg = {
        "extractor_cfg": {"_target_": "models.MultiResolutionModel", "sec": inputs.SYSTEM_SECONDS,
                          "sr": inputs.SAMPLE_RATE, "use_bias": False, "use_time": False,
                          "stft_cfg_list": [stft_config(256, False), stft_config(4096, False)]},
        "loss_cfg": {"_target_": "models.SCAdaCos", "n_subclusters": 16, "dynamic": False},
        "mixup_prob": 0.5, "mixup_type": "mixup", "lam": 1.0,
        "label_dict": {LABEL_KEY: {"num": inputs.SYSTEM_CLASSES, "lam": 1}},
    }
    if aux == "featex":
        model_cfg["featex_prob"] = 0.5
    return OmegaConf.create({"model": {"optim_cfg": {"_target_": "torch.optim.AdamW", "lr": 1.0e-3},
                                       "scheduler_cfg": None, "model_cfg": model_cfg}})


def system_step(aux: str) -> dict[str, np.ndarray]:
    """One training step of SubspaceLossPLModel / FeatExPLModel, in float32 (as trained) and in float64.

    float64 shows that the computation is the same to 1e-9; float32 shows how far float noise alone moves it.
    """
    out = {}
    for dtype in (torch.float32, torch.float64):
        prefix = "fp32/" if dtype == torch.float32 else "fp64/"
        out.update({prefix + key: value for key, value in one_step(aux, dtype).items()})
    return out


def one_step(aux: str, dtype: torch.dtype) -> dict[str, np.ndarray]:
    """Mixup, branches, losses, backward and one AdamW step; what the reference drew is recorded."""
    import importlib

    if "pl_models" not in sys.modules:  # its __init__ imports the triplet model (matplotlib, librosa, torchvision)
        package = types.ModuleType("pl_models")
        package.__path__ = [str(Path(sys.modules["models"].__file__).parent.parent / "pl_models")]
        sys.modules["pl_models"] = package
    module = importlib.import_module("pl_models.subloss_model" if aux == "subspace" else "pl_models.featex_model")
    model_class = module.SubspaceLossPLModel if aux == "subspace" else module.FeatExPLModel
    model = model_class(system_config(aux))
    fill(model, f"system_{aux}/")
    model.to(dtype)
    waves = torch.from_numpy(inputs.waveforms("system", inputs.SYSTEM_BATCH, inputs.SYSTEM_SECONDS))
    targets = torch.from_numpy(inputs.one_hot_targets("system", inputs.SYSTEM_BATCH, inputs.SYSTEM_CLASSES))
    out = {"input": inputs.fingerprint(waves.numpy())}
    waves, targets = waves.to(dtype), targets.to(dtype)
    model.eval()
    with torch.no_grad():
        out["embedding_eval"] = model(waves)["embedding"].numpy()
    model.train()
    model.log = types.MethodType(lambda self, *args, **kwargs: None, model)  # no trainer to log to
    torch.manual_seed(2)
    with DrawRecorder() as draws:
        loss = model.training_step({"wave": waves.clone(), LABEL_KEY: targets.clone()}, 0)
    out["mixup_lambda"] = draws.rand_calls[0].numpy()
    out["mixup_applied"] = (draws.rand_calls[1] < 0.5).numpy()
    out["mixup_partner"] = draws.perm_calls[0].numpy()
    if aux == "featex":
        out["featex_exchanged"] = (draws.rand_calls[2] < 0.5).numpy()
        out["featex_permutations"] = torch.stack(draws.perm_calls[1:]).numpy()
    out["loss"] = loss.detach().numpy()
    optimiser = model.configure_optimizers()
    optimiser.zero_grad()
    loss.backward()
    summaries = {f"grad/{key}": summary(f"grad/{key}", p.grad) for key, p in model.named_parameters()
                 if p.grad is not None}
    optimiser.step()
    summaries.update({f"stepped/{key}": summary(f"stepped/{key}", p) for key, p in model.named_parameters()
                      if p.requires_grad})
    summaries.update({f"buffer/{key}": summary(f"buffer/{key}", b) for key, b in model.named_buffers()
                      if b.is_floating_point() and "running" in key})  # batch-norm statistics after the step
    out["summary_names"] = np.array(list(summaries))
    out["summaries"] = np.stack(list(summaries.values()))
    return out


# --- pseudo-label clustering -----------------------------------------------------------------------------


def clustering(reference: Path) -> dict[str, np.ndarray]:
    """pseudoattr/clustering_gmm.py's gmm_clustering (GridSearchCV, -BIC on 5 held-out folds) per point set.

    The reference's GaussianMixture is unseeded, so where two counts score alike its choice depends on the
    initialisation: each set is clustered under 5 seeds of numpy's global generator (which it then draws from),
    and every count chosen is kept, with the partition of the first.
    """
    sys.path.insert(0, str(reference / "pseudoattr"))
    from clustering_gmm import gmm_clustering

    out = {}
    for name in inputs.CLUSTER_SETS:
        points, limit = inputs.cluster_points(name)
        out[f"{name}/input"] = inputs.fingerprint(points)
        counts = []
        for seed in range(5):
            np.random.seed(seed)
            labels, _ = gmm_clustering(points, limit, "bic")
            counts.append(len(set(labels)))
            if seed == 0:
                out[f"{name}/labels"] = labels
        out[f"{name}/counts"] = np.array(counts)
    return out


# --- backend, checkpoint ensemble, per-machine metric ----------------------------------------------------


def scoring(reference: Path) -> dict[str, np.ndarray]:
    """TargetKmeansCos per checkpoint, ensemble.py over epochs 12/14/16, evaluate23.py on the ensemble."""
    from backends.targetkmeans import TargetKmeansCos

    out: dict[str, np.ndarray] = {}
    machine = "golden"
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for epoch in inputs.SCORING_CHECKPOINTS:
            data = inputs.scoring_set(epoch)
            out[f"input_{epoch}"] = inputs.fingerprint(np.concatenate([data["train"].ravel(), data["test"].ravel()]))
            frames = {split: embedding_frame(data, split) for split in ("train", "test")}
            backend = TargetKmeansCos(16)
            backend.kmeans = KMeans(n_clusters=16, random_state=0, n_init=10)  # sklearn 1.1.1's default n_init
            backend.fit(frames["train"])
            infer = base / machine / "infer" / f"version_epoch{epoch}"
            infer.mkdir(parents=True)
            for split, frame in frames.items():
                scores = backend.anomaly_score(frame)["plain"]
                out[f"score_{epoch}_{split}"] = scores
                scored = frame[["path", "is_normal", "is_target"]].copy()
                scored["AS-TargetKmeansCos-16-plain"] = scores
                scored.to_csv(infer / f"interval_epoch={epoch - 1}_{split}_score.csv", index=False)
        run_script(reference, ["ensemble/ensemble.py", "epoch_12_14_16.yaml",  # rel2abs: relative to the script
                               "--machines", machine, "--base_dir", str(base)])
        ensemble_dir = base / machine / "infer" / "version_epoch_12_14_16"
        for split in ("train", "test"):
            frame = pd.read_csv(ensemble_dir / f"ensemble_{split}_score.csv")
            out[f"ensemble_{split}_path"] = frame["path"].to_numpy().astype(str)
            out[f"ensemble_{split}"] = frame["AS-ensemble"].to_numpy()
        run_script(reference, ["evaluate23.py", "--score_path", str(ensemble_dir / "ensemble_test_score.csv")])
        result = pd.read_csv(ensemble_dir / "ensemble_test_result.csv").set_index("post_process").loc["AS-ensemble"]
    for column in ("0_source_auc_all", "0_target_auc_all", "0_all_pauc_all", "hmean_official"):
        out[f"metric/{column}"] = np.array(float(result[column]))
    return out


def embedding_frame(data: dict[str, np.ndarray], split: str) -> pd.DataFrame:
    """The reference's extract.py layout: path, is_normal, is_target, e0..e{D-1}."""
    embeddings = data[split]
    is_target = data[f"{split}_is_target"]
    is_normal = 1 - data["test_is_anomaly"] if split == "test" else np.ones(len(embeddings), dtype=int)
    frame = pd.DataFrame({"path": [f"{split}/clip_{i:04d}.wav" for i in range(len(embeddings))],
                          "is_normal": is_normal, "is_target": is_target})
    return pd.concat([frame, pd.DataFrame(embeddings.astype(np.float64),
                                          columns=[f"e{i}" for i in range(embeddings.shape[1])])], axis=1)


def run_script(reference: Path, command: list[str]) -> None:
    subprocess.run([sys.executable, *command], cwd=reference, check=True)


if __name__ == "__main__":
    main()
