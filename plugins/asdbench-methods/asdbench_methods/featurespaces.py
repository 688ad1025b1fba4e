"""Feature spaces for pseudo-labelling (paper Sec. III-B1): ground truth, Class and Triplet.

``ground-truth`` names the classes itself (the GT row of Table III); ``class`` trains the run's own system on
the available labels and embeds with it; ``triplet`` trains a noise-robust SE-ResNet per machine.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from asdbench.api import (
    SAMPLE_RATE,
    AsdbenchError,
    AudioCache,
    ClipArray,
    FeatureSpaceContext,
    default_device,
    embedding_key,
    freed_memory_kept,
    true_attributes,
)
from asdbench_methods import factories


class GroundTruthSpace:
    """``ground-truth``: each clip's real attributes (visible ones, else the released hidden ones)."""

    def __init__(self, context: FeatureSpaceContext, /) -> None:
        self.context = context

    def embed(self, manifest: pd.DataFrame) -> np.ndarray:
        truth = true_attributes(manifest)
        missing = (truth == "") & (manifest["subset"] == "train")
        supplemental = missing & (manifest["content"] != "mixture") if "content" in manifest else missing & False
        if supplemental.any():
            raise AsdbenchError(
                f"feature space 'ground-truth': {int(supplemental.sum())} training clips of "
                f"{manifest['machine'].iloc[0]} are supplemental recordings (e.g. "
                f"{manifest.loc[supplemental, 'path'].iloc[0]}), which have no attributes, released or not; "
                "use dataset option supplemental = \"none\" with this feature space"
            )
        if missing.any():
            raise AsdbenchError(
                f"feature space 'ground-truth': no true attributes for {int(missing.sum())} training clips of "
                f"{manifest['machine'].iloc[0]} (e.g. {manifest.loc[missing, 'path'].iloc[0]}); give the dataset "
                "its released hidden attributes (dataset option hidden_attributes)"
            )
        return truth.to_numpy(dtype=object)


class ClassSpace:
    """``class``: z_cat of the run's own system trained on the available labels (machine, domain, attributes).

    That model is an ordinary training in the run store (the same one as the system's "N/A" row, so a grid
    computes it once), which ``context.systems`` trains or finds; ``epoch`` picks its checkpoint (0: the last
    epoch). The authors use epoch 14 of 16.
    """

    def __init__(self, context: FeatureSpaceContext, /, *, epoch: int) -> None:
        epochs = context.train["epochs"]
        self.epoch = epoch or epochs
        if not 1 <= self.epoch <= epochs:
            raise AsdbenchError(f"feature space 'class': epoch {epoch} is outside 1..{epochs} (train.epochs)")
        self.context = context
        self._embeddings: dict[str, np.ndarray] | None = None

    def embed(self, manifest: pd.DataFrame) -> np.ndarray:
        if self._embeddings is None:
            self._embeddings = self.context.systems.embeddings({**self.context.system, "labels": "attributes"},
                                                               self.epoch)
        split, machine, section = (manifest[column].iloc[0] for column in ("split", "machine", "section"))
        out = np.empty((len(manifest), 0))
        for subset in ("train", "test"):
            rows = np.flatnonzero((manifest["subset"] == subset).to_numpy())
            embeddings = self._embeddings[embedding_key(split, machine, section, subset)]
            if out.shape[1] == 0:
                out = np.zeros((len(manifest), embeddings.shape[1]), dtype=np.float32)
            out[rows] = embeddings
        return out


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "little") >> 1


def _unit_seed(seed: int, split: str, machine: str, section: str) -> int:
    """The seed of one unit's network: section 00 keeps the seed of before sections were units, so that a year with
    one section per machine computes what it did."""
    return _seed(seed, split, machine) if section == "00" else _seed(seed, split, machine, section)


def mix_at_snr(signal: torch.Tensor, noise: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    """``signal + c * noise`` with c chosen so that mean |signal|^2 / mean |c noise|^2 = 10^(snr/10)."""
    dims = tuple(range(1, signal.ndim))
    power_signal = signal.pow(2).mean(dims, keepdim=True)
    power_noise = noise.pow(2).mean(dims, keepdim=True).clamp_min(1e-12)
    scale = torch.sqrt(power_signal / (power_noise * 10 ** (snr_db.view(-1, *[1] * len(dims)) / 10)))
    return signal + scale * noise


def resize_ratio(count: int, generator: torch.Generator) -> torch.Tensor:
    """Scales drawn from U(0.5, 0.8) or U(1.2, 1.5) with equal probability."""
    low = torch.rand(count, generator=generator) < 0.5
    unit = torch.rand(count, generator=generator)
    return torch.where(low, 0.5 + 0.3 * unit, 1.2 + 0.3 * unit)


def resize(spectrogram: torch.Tensor, ratio: float, along_time: bool) -> torch.Tensor:
    """Stretch one ``(F, T)`` spectrogram in time or frequency, then tile (short time) or crop/pad to ``(F, T)``."""
    bins, frames = spectrogram.shape
    size = (bins, max(1, round(frames * ratio))) if along_time else (max(1, round(bins * ratio)), frames)
    stretched = F.interpolate(spectrogram[None, None], size=size, mode="bilinear", antialias=True,
                              align_corners=False)[0, 0]
    if along_time:
        repeats = -(-frames // stretched.shape[1])
        return stretched.repeat(1, repeats)[:, :frames]
    return F.pad(stretched, (0, 0, 0, max(0, bins - stretched.shape[0])))[:bins]


class TripletSpace:
    """``triplet``: an SE-ResNet per unit (machine section) on STFT magnitudes trained with the triplet loss (eq. 6-8).

    Anchor x or Noise(x); positive Noise(x); negative Resize(x), Noise(Resize(x)), another clip x_j of the same
    machine, or Noise(x_j), each with equal probability. Noise adds another machine type's spectrogram at an
    SNR drawn from U(snr_low, snr_high) dB (mixed in the magnitude domain, powers from mean |.|^2); Resize
    stretches time or frequency by a scale from U(0.5, 0.8) or U(1.2, 1.5). Temporal mean normalisation is
    applied after mixing, before the network. Embeddings are 128-d and not normalised (Euclidean space).
    """

    def __init__(self, context: FeatureSpaceContext, /, *, n_fft: int, epochs: int, batch_size: int, margin: float,
                 lr: float, clip_seconds: float, snr_low: float, snr_high: float) -> None:
        self.context = context
        self.stft = factories.stft(n_fft=n_fft)  # the stft frontend as declared, but for its n_fft
        self.epochs, self.batch_size, self.margin, self.lr = epochs, batch_size, margin, lr
        self.clip_seconds, self.snr = clip_seconds, (snr_low, snr_high)
        self.cache = AudioCache()

    def embed(self, manifest: pd.DataFrame) -> np.ndarray:
        split, machine, section = (manifest[column].iloc[0] for column in ("split", "machine", "section"))
        clips = self.cache.load_rows(manifest, progress=False)
        num_samples = int(self.clip_seconds * SAMPLE_RATE) if self.clip_seconds else int(clips.lengths.max())
        device = default_device()
        seed = _unit_seed(self.context.seed, split, machine, section)
        with freed_memory_kept(device):
            network = self._train(manifest, clips, num_samples, device, seed)
            network.eval()
            with torch.inference_mode():
                batches = [self._features(torch.from_numpy(clips.batch(range(i, min(i + 64, len(clips))),
                                                                       num_samples)).to(device))
                           for i in range(0, len(clips), 64)]
                return torch.cat([network(self._normalise(b)) for b in batches]).cpu().numpy()

    def network(self, num_samples: int) -> torch.nn.Module:
        """The SE-ResNet of one unit, for clips of ``num_samples``; a clip too short for it is an error naming this
        space's own options, which set its input (not the run's ``train.clip_seconds``)."""
        try:
            return factories.spectrogram_resnet(self.stft.output_shape(num_samples))
        except AsdbenchError as exc:
            length = f"clip_seconds = {self.clip_seconds:g}" if self.clip_seconds else \
                f"clip_seconds = 0 (the longest clip, {num_samples / SAMPLE_RATE:g} s)"
            raise AsdbenchError(f"feature space 'triplet' (pseudolabel.feature_space): its {length} and n_fft = "
                                f"{self.stft.n_fft} are too short a clip for its network: {exc}") from None

    def _features(self, waveforms: torch.Tensor) -> torch.Tensor:
        return self.stft.to(waveforms.device)(waveforms)

    @staticmethod
    def _normalise(spectrogram: torch.Tensor) -> torch.Tensor:
        return spectrogram - spectrogram.mean(dim=-1, keepdim=True)

    def _noise_pool(self, machine: str) -> tuple[ClipArray, int]:
        """Training clips of every other machine type of the run, the material Noise() mixes in."""
        others = pd.concat(self.context.manifests.values())
        others = others[(others["machine"] != machine) & (others["subset"] == "train")]
        if others.empty:
            raise AsdbenchError("feature space 'triplet': Noise() needs other machine types, but the run has one")
        return self.cache.load_rows(others, progress=False), len(others)

    def _train(self, manifest: pd.DataFrame, clips, num_samples: int, device: torch.device,
               seed: int) -> torch.nn.Module:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        train_rows = np.flatnonzero((manifest["subset"] == "train").to_numpy())
        noise_clips, noise_count = self._noise_pool(manifest["machine"].iloc[0])
        network = self.network(num_samples).to(device)
        optimiser = torch.optim.AdamW(network.parameters(), lr=self.lr)
        network.train()
        for _ in range(self.epochs):
            order = train_rows[torch.randperm(len(train_rows), generator=generator).numpy()]
            for start in range(0, len(order), self.batch_size):
                indices = order[start : start + self.batch_size]
                if len(indices) < 2:
                    continue
                loss = self._loss(network, clips, noise_clips, noise_count, indices, train_rows, num_samples,
                                  device, generator)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
        return network

    def _loss(self, network, clips, noise_clips, noise_count, indices, train_rows, num_samples, device,
              generator) -> torch.Tensor:
        batch = len(indices)

        def load(source, rows):
            return self._features(torch.from_numpy(source.batch(rows, num_samples)).to(device))

        def noise(spectrogram):
            rows = torch.randint(0, noise_count, (batch,), generator=generator).numpy()
            snr = self.snr[0] + (self.snr[1] - self.snr[0]) * torch.rand(batch, generator=generator)
            return mix_at_snr(spectrogram, load(noise_clips, rows), snr.to(device))

        def coin(probability=0.5):
            return (torch.rand(batch, generator=generator) < probability).to(device)[:, None, None]

        x = load(clips, indices)
        others = load(clips, train_rows[torch.randint(0, len(train_rows), (batch,), generator=generator).numpy()])
        ratios = resize_ratio(batch, generator)
        along_time = torch.rand(batch, generator=generator) < 0.5
        resized = torch.stack([resize(s, float(r), bool(t)) for s, r, t in zip(x, ratios, along_time)])
        anchor = torch.where(coin(), noise(x), x)
        positive = noise(x)
        negative = torch.where(coin(), resized, others)
        negative = torch.where(coin(), noise(negative), negative)
        a, p, n = (network(self._normalise(s)) for s in (anchor, positive, negative))
        return F.relu((a - p).norm(dim=1) - (a - n).norm(dim=1) + self.margin).mean()
