"""EAT (Chen et al. 2024, "EAT: Self-Supervised Pre-Training with Efficient Audio Transformer"): the audio transformer,
written here to load the published fairseq checkpoints (``EAT-base_epoch10_pt.pt``, ``EAT-large_epoch20_pt.pt``, ...)
as they are, and computing what ASDKit computes with them.

A published file is a fairseq checkpoint, ``{"cfg": {...}, "model": state_dict, ...}``; ``cfg["model"]`` holds the
fields of ``Data2VecMultiConfig`` (``_name = "data2vec_multi"``) and decides the architecture. What this module
relies on, read in ``cwx-worst-one/EAT`` at commit 06c1c34 (``models/EAT_pretraining.py``, ``models/images.py``,
``models/base.py``, ``models/modules.py``, ``models/mae.py``, ``config/pretraining_AS2M.yaml``) and in ASDKit
(``TakuyaFujimura/dcase-asd-toolkit`` at ed27d82, ``asdkit/models/pretrained_models/eat/tools.py`` and ``lora.py``):

- input: ``(B, T, 128)`` normalised fbank (:mod:`asdbench_pretrained.fbank`) as one image channel, ``T`` padded at
  the end to a multiple of 32 frames as ASDKit's ``calc_target_length`` and ``preprocess`` do (zeros of the log
  mel before the normalisation: :data:`PAD_VALUE` after it);
- ``modality_encoders.IMAGE.local_encoder.proj``: ``Conv2d(1, D, 16, stride=16)`` with a bias (``PatchEmbed_new``),
  flattened time-major (``T / 16`` time steps x 8 frequency bands);
- ``modality_encoders.IMAGE.fixed_positional_encoder.positions``: the fixed 2-D sin-cos table
  ``(1, max_length * 8, D)`` saved in the checkpoint (a parameter that never trains); the first ``N`` rows are
  added to the ``N`` patches;
- ``modality_encoders.IMAGE.extra_tokens`` ``(1, num_extra_tokens, D)``: EAT's one CLS token, put before the
  patches after the positions;
- ``modality_encoders.IMAGE.context_encoder.norm``: a LayerNorm over all tokens (post-LN models apply it before
  the blocks); the context encoder's own blocks number ``prenet_depth``, 0 in EAT;
- ``blocks.<i>`` (data2vec 2.0's ``AltBlock``, post-LN when ``layer_norm_first`` is false as in EAT):
  ``x = x + attn(x)``, ``r = norm1(x)``, ``x = norm2(r + mlp(r))``; ``attn.qkv`` one ``Linear(D, 3D)`` with bias
  (q, k, v in that order, heads split within each), softmax(q k^T / sqrt(head_dim)), ``attn.proj``; ``mlp.fc1``,
  exact GELU, ``mlp.fc2`` (timm's ``Mlp``, ``mlp_ratio`` x D hidden); LayerNorms with ``norm_eps`` (1e-6);
- no ALiBi (``use_alibi_encoder`` false), no final ``norm`` (it exists only with ``layer_norm_first``).

The state dict also holds what pre-training used and ASDKit removes (``remove_pretraining_modules``) after its
strict load: :data:`PRETRAINING_ONLY` names them; they are dropped by name, every other key must fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from asdbench.api import AsdbenchError
from asdbench_pretrained.fbank import NUM_MEL_BINS, PRESETS

FRAME_MULTIPLE = 32
"""ASDKit's ``calc_target_length``: the fbank's frame count rounded up to a multiple of 32."""
PAD_VALUE = (0.0 - PRESETS["eat"].mean) / (2 * PRESETS["eat"].std)
"""A padding frame after the normalisation: ASDKit pads the log mel with zeros, then normalises."""
MODALITY = "IMAGE"
PRETRAINING_ONLY = (
    "_ema",  # the EMA teacher's weights, a dict inside the state dict (Data2VecMultiModel.state_dict)
    f"modality_encoders.{MODALITY}.decoder.",  # the CNN decoder (Decoder2d) that predicts the masked patches
    "shared_decoder.",  # data2vec 2.0's shared decoder (None in EAT's configs)
    "recon_proj.",  # the reconstruction loss's projection (recon_loss > 0 only)
    "cls_proj.",  # utterance_level (DINO-loss) experiments only
    "center",
    f"modality_encoders.{MODALITY}.encoder_mask",  # ASDKit deletes it where present
)
"""Keys (exact names, or prefixes ending in '.') of a published state dict that the encoder does not use."""


def pretraining_only(key: str) -> bool:
    return any(key.startswith(name) if name.endswith(".") else key == name for name in PRETRAINING_ONLY)


@dataclass(frozen=True)
class EATConfig:
    """The architectural fields of a checkpoint's ``cfg["model"]`` (defaults: ``Data2VecMultiConfig``'s and
    ``D2vImageConfig``'s in EAT's ``models/``, with ``config/pretraining_AS2M.yaml``'s modality settings), and the
    stochastic depth ASDKit fine-tunes with."""

    depth: int = 12
    num_heads: int = 12
    embed_dim: int = 768
    mlp_ratio: float = 4.0
    norm_eps: float = 1e-6
    norm_affine: bool = True
    patch_size: int = 16
    max_length: int = 768  # time patches the positions table covers (768: about 2 minutes)
    num_extra_tokens: int = 1
    drop_path_rate: float = 0.1  # ASDKit's construct_data2vec: linearly 0 .. 0.1 over the blocks

    @classmethod
    def from_checkpoint(cls, cfg: Any, path: Path | str) -> EATConfig:
        """The config of a published file's ``cfg``; refuses the variants this EAT does not implement."""
        model = cfg.get("model") if isinstance(cfg, dict) else None
        if not isinstance(model, dict):
            raise AsdbenchError(f"{path}: its 'cfg' entry holds no 'model' dict of Data2VecMultiConfig fields, as a "
                                "fairseq EAT checkpoint does")
        if model.get("_name") != "data2vec_multi":
            raise AsdbenchError(f"{path}: cfg.model._name is {model.get('_name')!r}, not 'data2vec_multi': not a "
                                "pre-trained EAT checkpoint (EAT's fine-tuned classifiers are not read)")
        image = model.get("modalities", {}).get("image") if isinstance(model.get("modalities"), dict) else None
        if not isinstance(image, dict):
            raise AsdbenchError(f"{path}: cfg.model.modalities.image is not the dict of D2vImageConfig fields that "
                                "an EAT checkpoint holds")
        settings = {"in_chans": 3, "embed_dim": model.get("embed_dim", 768), "prenet_depth": 4,
                    "use_alibi_encoder": False, "fixed_positions": True, **image}
        refused = {"cfg.model.layer_norm_first": (model.get("layer_norm_first", False), False),
                   "cfg.model.modalities.image.in_chans": (settings["in_chans"], 1),
                   "cfg.model.modalities.image.embed_dim": (settings["embed_dim"], model.get("embed_dim", 768)),
                   "cfg.model.modalities.image.prenet_depth": (settings["prenet_depth"], 0),
                   "cfg.model.modalities.image.use_alibi_encoder": (settings["use_alibi_encoder"], False),
                   "cfg.model.modalities.image.fixed_positions": (settings["fixed_positions"], True),
                   "cfg.model.modalities.image.num_extra_tokens": (settings.get("num_extra_tokens", 0), 1)}
        for field, (found, expected) in refused.items():
            if found != expected:
                raise AsdbenchError(f"{path}: {field} is {found!r}; this EAT reads the published layout, where it "
                                    f"is {expected!r}")
        config = cls(depth=model.get("depth", 12), num_heads=model.get("num_heads", 12),
                     embed_dim=model.get("embed_dim", 768), mlp_ratio=model.get("mlp_ratio", 4.0),
                     norm_eps=model.get("norm_eps", 1e-6), norm_affine=model.get("norm_affine", True),
                     patch_size=image.get("patch_size", 16), max_length=image.get("max_length", 768))
        for name in ("depth", "num_heads", "embed_dim", "patch_size", "max_length", "mlp_ratio", "norm_eps"):
            value = getattr(config, name)
            kinds = (int,) if name not in ("mlp_ratio", "norm_eps") else (int, float)
            if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
                raise AsdbenchError(f"{path}: cfg field {name} is {value!r}, not a positive number")
        if config.embed_dim % config.num_heads:
            raise AsdbenchError(f"{path}: cfg.model.embed_dim {config.embed_dim} is not a multiple of num_heads "
                                f"{config.num_heads}")
        if config.patch_size < 1 or NUM_MEL_BINS % config.patch_size:
            raise AsdbenchError(f"{path}: cfg.model.modalities.image.patch_size {config.patch_size} does not divide "
                                f"the {NUM_MEL_BINS} mel bins")
        return config


class DropPath(nn.Module):
    """Stochastic depth: in training, a residual branch is dropped for a whole sample with probability ``rate``
    and the kept ones scaled by ``1 / (1 - rate)`` (timm's ``DropPath``, which ``AltBlock`` uses)."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - self.rate)
        return x * keep / (1 - self.rate)


class Attention(nn.Module):
    """``attn``: multi-head self-attention with one ``qkv`` projection."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, H, N, d), scaled by 1 / sqrt(d)
        return self.proj(out.transpose(1, 2).reshape(batch, length, dim))


class MLP(nn.Module):
    """``mlp``: ``fc2(gelu(fc1(x)))``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """``blocks.<i>``: a post-LN transformer block."""

    def __init__(self, config: EATConfig, drop_path: float) -> None:
        super().__init__()
        dim = config.embed_dim
        self.norm1 = nn.LayerNorm(dim, eps=config.norm_eps, elementwise_affine=config.norm_affine)
        self.attn = Attention(dim, config.num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=config.norm_eps, elementwise_affine=config.norm_affine)
        self.mlp = MLP(dim, int(dim * config.mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.norm1(x + self.drop_path(self.attn(x)))
        return self.norm2(residual + self.drop_path(self.mlp(residual)))


class PatchEmbedding(nn.Module):
    """``local_encoder``: 16x16 patches of the fbank image."""

    def __init__(self, config: EATConfig) -> None:
        super().__init__()
        self.proj = nn.Conv2d(1, config.embed_dim, kernel_size=config.patch_size, stride=config.patch_size)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.proj(image).flatten(2).transpose(1, 2)  # (B, T/16 * 8, D), time-major


class FixedPositions(nn.Module):
    """``fixed_positional_encoder``: the checkpoint's sin-cos table, a buffer here (it never trains)."""

    def __init__(self, config: EATConfig) -> None:
        super().__init__()
        bands = NUM_MEL_BINS // config.patch_size
        self.register_buffer("positions", torch.zeros(1, config.max_length * bands, config.embed_dim))


class ContextEncoder(nn.Module):
    """``context_encoder``: with no prenet blocks (EAT), the LayerNorm that post-LN models put before the blocks."""

    def __init__(self, config: EATConfig) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(config.embed_dim, eps=config.norm_eps, elementwise_affine=config.norm_affine)


class ImageEncoder(nn.Module):
    """``modality_encoders.IMAGE``: patches, positions, the CLS token, the context LayerNorm."""

    def __init__(self, config: EATConfig) -> None:
        super().__init__()
        self.local_encoder = PatchEmbedding(config)
        self.fixed_positional_encoder = FixedPositions(config)
        self.context_encoder = ContextEncoder(config)
        self.extra_tokens = nn.Parameter(torch.zeros(1, config.num_extra_tokens, config.embed_dim))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.local_encoder(image)
        positions = self.fixed_positional_encoder.positions
        if x.shape[1] > positions.shape[1]:
            raise AsdbenchError(f"EAT: the clip gives {x.shape[1]} patches, more than the {positions.shape[1]} "
                                "positions of the checkpoint; use shorter clips")
        x = x + positions[:, : x.shape[1]].to(x.dtype)
        x = torch.cat([self.extra_tokens.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
        return self.context_encoder.norm(x)


class EAT(nn.Module):
    """The EAT encoder: ``(B, 128, T)`` normalised fbank -> ``(B, 1 + (T' / 16) * 8, D)`` tokens, the CLS token
    first, ``T'`` being ``T`` rounded up to a multiple of 32 frames.

    Its parameter names are the published state dict's (see the module docstring), so that a checkpoint less the
    :data:`PRETRAINING_ONLY` keys loads with ``load_state_dict(strict=True)``.
    """

    def __init__(self, config: EATConfig) -> None:
        super().__init__()
        self.config = config
        self.modality_encoders = nn.ModuleDict({MODALITY: ImageEncoder(config)})
        rates = [config.drop_path_rate * i / max(config.depth - 1, 1) for i in range(config.depth)]  # np.linspace
        self.blocks = nn.ModuleList(Block(config, rate) for rate in rates)

    @property
    def feature_dim(self) -> int:
        return self.config.embed_dim

    @staticmethod
    def padded_frames(frames: int) -> int:
        return math.ceil(frames / FRAME_MULTIPLE) * FRAME_MULTIPLE

    def num_tokens(self, frames: int) -> int:
        return self.config.num_extra_tokens + (self.padded_frames(frames) // self.config.patch_size) * (
            NUM_MEL_BINS // self.config.patch_size)

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        frames = fbank.shape[-1]
        padded = F.pad(fbank, (0, self.padded_frames(frames) - frames), value=PAD_VALUE)
        x = self.modality_encoders[MODALITY](padded.transpose(1, 2).unsqueeze(1))
        for block in self.blocks:
            x = block(x)
        return x
