"""BEATs + LoRA and EAT + LoRA training steps at the published sizes: clips/s and peak memory (peak CUDA memory on a
GPU).

BEATs-base as ``BEATs_iter3.pt`` is built (12 layers of 768, DeepNorm, gated relative position bias; 90 M
parameters) with random weights saved in the published layout, then trained as a run trains it: the
``beats-fbank`` frontend, the ``beats`` network with its defaults (LoRA rank 64 on q/v, projection to 128), SCAC,
AdamW over the trainable parameters. ASDKit trains it with batches of 8 clips of the dataset's length (10 s for
DCASE 2023/2024 dev clips); on the CPU the step uses 2 clips of 4 s, which is what 2 slow cores manage in seconds.

EAT-base as ``EAT-base_epoch10_pt.pt`` is built (12 post-LN blocks of 768, 85 M parameters) with random weights in
the published fairseq layout (``{"cfg": {"model": ...}, "model": ...}``, without the EMA teacher and decoder that the
loader drops), then trained with the ``eat-fbank`` frontend and the ``eat`` network's defaults (LoRA rank 64 on
``qkv``, the CLS token projected to 128), SCAC, AdamW, as ASDKit's ``dis_eat.yaml`` trains it (batch 8, 10 s clips
padded to 1024 frames on a GPU; 2 clips of 4 s, 416 frames, on the CPU).
"""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch

from asdbench.contract.registry import get_registry
from asdbench.runtime.devices import default_device
from asdbench.spec.validate import validate_spec
from asdbench.training.loop import TrainingPlan, autocast, place
from asdbench.training.system import build_system
from asdbench_pretrained.beats import BEATs, BEATsConfig
from asdbench_pretrained.eat import EAT, EATConfig

from measure import measure

ITER3 = BEATsConfig(deep_norm=True, relative_position_embedding=True, num_buckets=320, max_distance=800,
                    gru_rel_pos=True)
"""BEATs_iter3's architecture: BEATsConfig's defaults (12 x 768, 12 heads, 512-d patches of 16x16) with the
DeepNorm and gated relative position bias that the iter3 checkpoints use."""
CLASSES = 60


@pytest.fixture(scope="module")
def base_weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("beats") / "BEATs_random_base.pt"
    torch.save({"cfg": asdict(ITER3), "model": BEATs(ITER3).state_dict()}, path)
    return path


EAT_BASE = {"_name": "data2vec_multi", "depth": 12, "num_heads": 12, "embed_dim": 768, "mlp_ratio": 4.0,
            "norm_eps": 1e-6, "layer_norm_first": False,
            "modalities": {"image": {"in_chans": 1, "patch_size": 16, "embed_dim": 768, "prenet_depth": 0,
                                     "num_extra_tokens": 1, "use_alibi_encoder": False, "max_length": 768}}}
"""EAT-base's cfg["model"] fields that the loader reads (config/pretraining_AS2M.yaml and the config defaults)."""


@pytest.fixture(scope="module")
def eat_base_weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("eat") / "EAT_random_base.pt"
    torch.save({"cfg": {"model": EAT_BASE}, "model": EAT(EATConfig()).state_dict()}, path)
    return path


def _lora_training_step(benchmark, frontend: str, network: str, weights, work: str) -> None:
    device = default_device()
    batch, seconds = (8, 10.0) if device.type == "cuda" else (2, 4.0)
    samples = int(seconds * 16_000)
    spec = validate_spec({"dataset": {"name": "synth", "root": "unused"},
                          "system": {"frontends": [frontend],
                                     "networks": [{"name": network, "weights": str(weights)}],
                                     "loss": "scac", "backend": "knn"},
                          "train": {"epochs": 1, "checkpoints": [1], "batch_size": batch}}, get_registry())
    plan = TrainingPlan.from_spec(spec.train, 1, samples)
    torch.manual_seed(0)
    system = place(build_system(spec.system, get_registry(), num_classes=CLASSES, num_samples=samples),
                   device, plan).train()
    trainable = [p for p in system.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=1e-4)
    waveforms = 0.1 * torch.randn(batch, samples, device=device)
    targets = torch.nn.functional.one_hot(torch.randint(0, CLASSES, (batch,)), CLASSES).float().to(device)

    def step():
        with autocast(device, plan.precision):
            loss = system.training_loss(waveforms, targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    measure(benchmark, step, clips=batch, work=f"{work} + LoRA training step, {batch} clips of {seconds:g} s",
            way="asdbench", rounds=2, warmup_rounds=1)
    benchmark.extra_info["trainable_parameters"] = sum(p.numel() for p in trainable)


def test_beats_lora_training_step(benchmark, base_weights):
    _lora_training_step(benchmark, "beats-fbank", "beats", base_weights, "BEATs")


def test_eat_lora_training_step(benchmark, eat_base_weights):
    _lora_training_step(benchmark, "eat-fbank", "eat", eat_base_weights, "EAT")
