"""BEATs (Chen et al. 2023, "BEATs: Audio Pre-Training with Acoustic Tokenizers"): the audio transformer, written
here to load Microsoft's published checkpoints (``BEATs_iter3.pt``, ``BEATs_iter3_plus_AS2M.pt``, ...) as they are.

A published file is ``torch.save({"cfg": {...}, "model": state_dict, ...})``; ``cfg`` holds the fields of
``BEATsConfig`` in ``microsoft/unilm`` ``beats/BEATs.py`` and decides the architecture. What this module relies on,
read in ``microsoft/unilm`` at commit 732d834 (``beats/BEATs.py``, ``beats/backbone.py``, ``beats/modules.py``):

- input: ``(B, T, 128)`` normalised fbank (:mod:`asdbench_pretrained.fbank`) as one image channel;
  ``patch_embedding`` is a ``Conv2d(1, embed_dim, input_patch_size, stride=input_patch_size, bias=conv_bias)``
  (16x16 patches: ``T // 16`` time steps x 8 frequency bands, flattened time-major); ``layer_norm`` over
  ``embed_dim`` (512), then ``post_extract_proj`` (``Linear(512, 768)``, present only when ``embed_dim`` differs from
  ``encoder_embed_dim``);
- ``encoder.pos_conv.0``: a grouped ``Conv1d(D, D, conv_pos, padding=conv_pos // 2, groups=conv_pos_groups)`` under
  the old ``torch.nn.utils.weight_norm`` with ``dim=2`` (parameters ``weight_g`` ``(1, 1, conv_pos)``, ``weight_v``,
  ``bias``), its last output step dropped when ``conv_pos`` is even, then GELU, added to the input;
  ``encoder.layer_norm`` after it (post-LN models) or after the last layer (``layer_norm_first``);
- ``encoder.layers.<i>``: ``self_attn.{q,k,v,out}_proj`` (with biases), ``self_attn_layer_norm``, ``fc1``, ``fc2``,
  ``final_layer_norm``; post-LN with DeepNorm residual scaling ``(2 * encoder_layers) ** 0.25`` when ``deep_norm``;
  GELU (exact, computed in float32) between ``fc1`` and ``fc2``;
- relative position bias (``relative_position_embedding``): ``self_attn.relative_attention_bias``, an
  ``Embedding(num_buckets, heads)`` created in layer 0 and shared by every layer (so the state dict holds it
  under every layer's name), T5-style bidirectional log buckets up to ``max_distance``; computed once and passed
  on to every layer. With ``gru_rel_pos`` each layer gates it by its query: ``grep_linear`` ``Linear(head_dim, 8)``
  and ``grep_a`` ``(1, heads, 1, 1)``;
- attention: softmax(q k^T / sqrt(head_dim) + bias). The reference subtracts each row's maximum from the logits
  (its "alpha = 32" trick for fp16); softmax does not change when a row moves by a constant, so it is left out;
- a fine-tuned checkpoint (``finetuned_model``) also holds ``predictor`` ``Linear(768, predictor_class)``; it is
  loaded (strictly) and unused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from asdbench.api import AsdbenchError

PATCH_FREQUENCY_BINS = 128


@dataclass(frozen=True)
class BEATsConfig:
    """The architectural fields of a checkpoint's ``cfg`` (defaults: ``BEATsConfig``'s in ``beats/BEATs.py``),
    plus the dropout rates that apply when the network trains."""

    input_patch_size: int = 16
    embed_dim: int = 512
    conv_bias: bool = False
    encoder_layers: int = 12
    encoder_embed_dim: int = 768
    encoder_ffn_embed_dim: int = 3072
    encoder_attention_heads: int = 12
    activation_fn: str = "gelu"
    layer_norm_first: bool = False
    deep_norm: bool = False
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation_dropout: float = 0.0
    encoder_layerdrop: float = 0.0
    dropout_input: float = 0.0
    conv_pos: int = 128
    conv_pos_groups: int = 16
    relative_position_embedding: bool = False
    num_buckets: int = 320
    max_distance: int = 1280
    gru_rel_pos: bool = False
    finetuned_model: bool = False
    predictor_class: int = 527

    @classmethod
    def from_checkpoint(cls, cfg: Any, path: Path | str) -> BEATsConfig:
        """The config of a published file's ``cfg`` dict; other keys of it (training settings) are not read."""
        if not isinstance(cfg, dict):
            raise AsdbenchError(f"{path}: its 'cfg' entry is {type(cfg).__name__}, not the dict of BEATsConfig "
                                "fields that a BEATs checkpoint holds")
        names = {field.name for field in fields(cls)}
        config = cls(**{key: value for key, value in cfg.items() if key in names})
        if config.activation_fn not in ACTIVATIONS:
            raise AsdbenchError(f"{path}: cfg.activation_fn is {config.activation_fn!r}; this BEATs reads "
                                f"{', '.join(sorted(ACTIVATIONS))}")
        if config.deep_norm and config.layer_norm_first:
            raise AsdbenchError(f"{path}: cfg sets both deep_norm and layer_norm_first, which BEATs refuses")
        if config.input_patch_size < 1 or PATCH_FREQUENCY_BINS % config.input_patch_size:
            raise AsdbenchError(f"{path}: cfg.input_patch_size {config.input_patch_size} does not divide the "
                                f"{PATCH_FREQUENCY_BINS} mel bins")
        return config


def _gelu(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x.float()).type_as(x)


ACTIVATIONS = {"gelu": _gelu, "relu": F.relu}


class WeightNormConv1d(nn.Module):
    """A grouped ``Conv1d`` whose weight is ``weight_g * weight_v / ||weight_v||``, the norm taken per kernel tap
    (``torch.nn.utils.weight_norm(..., dim=2)``, the parametrisation and key names the checkpoints were saved with)."""

    def __init__(self, channels: int, kernel_size: int, groups: int) -> None:
        super().__init__()
        self.padding, self.groups = kernel_size // 2, groups
        self.weight_g = nn.Parameter(torch.ones(1, 1, kernel_size))
        self.weight_v = nn.Parameter(torch.empty(channels, channels // groups, kernel_size))
        self.bias = nn.Parameter(torch.zeros(channels))
        nn.init.normal_(self.weight_v, std=math.sqrt(4 / (kernel_size * channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight_g * self.weight_v / self.weight_v.norm(dim=(0, 1), keepdim=True)
        return F.conv1d(x, weight, self.bias, padding=self.padding, groups=self.groups)


def relative_buckets(length: int, num_buckets: int, max_distance: int, device: torch.device) -> torch.Tensor:
    """T5-style bidirectional buckets of every (query, memory) pair's distance: ``(length, length)`` indices.

    Half the buckets for memory positions after the query; in each half, distances below a quarter of the buckets
    get one bucket each and longer ones share log-spaced buckets up to ``max_distance``.
    """
    positions = torch.arange(length, device=device)
    relative = positions[None, :] - positions[:, None]  # memory position minus query position
    half = num_buckets // 2
    exact = half // 2
    distance = relative.abs()
    large = exact + (torch.log(distance.clamp(min=1).float() / exact) / math.log(max_distance / exact)
                     * (half - exact)).long()
    return (relative > 0).long() * half + torch.where(distance < exact, distance, torch.clamp(large, max=half - 1))


class Attention(nn.Module):
    """``self_attn``: multi-head self-attention with an optional (gated) relative position bias."""

    def __init__(self, config: BEATsConfig, shared_bias: nn.Embedding | None) -> None:
        super().__init__()
        dim, heads = config.encoder_embed_dim, config.encoder_attention_heads
        if dim % heads:
            raise AsdbenchError(f"BEATs: encoder_embed_dim {dim} is not a multiple of encoder_attention_heads {heads}")
        self.heads, self.head_dim = heads, dim // heads
        self.dropout = config.attention_dropout
        self.k_proj, self.v_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.q_proj, self.out_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)
        if shared_bias is not None:
            self.relative_attention_bias = shared_bias
        self.gated = config.gru_rel_pos
        if self.gated:
            self.grep_linear = nn.Linear(self.head_dim, 8)
            self.grep_a = nn.Parameter(torch.ones(1, heads, 1, 1))

    def forward(self, x: torch.Tensor, position_bias: torch.Tensor | None) -> torch.Tensor:
        """``x`` ``(B, N, D)``, ``position_bias`` ``(heads, N, N)`` or None -> ``(B, N, D)``."""
        batch, length, dim = x.shape
        split = (batch, length, self.heads, self.head_dim)
        q = self.q_proj(x).view(split).transpose(1, 2)  # (B, H, N, d)
        k = self.k_proj(x).view(split).transpose(1, 2)
        v = self.v_proj(x).view(split).transpose(1, 2)
        bias = None
        if position_bias is not None:
            bias = position_bias.unsqueeze(0)
            if self.gated:
                gate_a, gate_b = torch.sigmoid(
                    self.grep_linear(q).view(batch, self.heads, length, 2, 4).sum(-1)).chunk(2, dim=-1)
                bias = (gate_a * (gate_b * self.grep_a - 1.0) + 2.0) * bias
            bias = bias.to(q.dtype)  # under bf16 autocast the gate is float32, the queries bf16
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias,
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, dim))


class EncoderLayer(nn.Module):
    """``encoder.layers.<i>``: attention and feed-forward blocks, post-LN (DeepNorm-scaled) or pre-LN."""

    def __init__(self, config: BEATsConfig, shared_bias: nn.Embedding | None) -> None:
        super().__init__()
        dim = config.encoder_embed_dim
        self.self_attn = Attention(config, shared_bias)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, config.encoder_ffn_embed_dim)
        self.fc2 = nn.Linear(config.encoder_ffn_embed_dim, dim)
        self.final_layer_norm = nn.LayerNorm(dim)
        self.activation = ACTIVATIONS[config.activation_fn]
        self.pre_norm = config.layer_norm_first
        self.alpha = (2 * config.encoder_layers) ** 0.25 if config.deep_norm else 1.0
        self.dropout, self.activation_dropout = nn.Dropout(config.dropout), nn.Dropout(config.activation_dropout)

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fc2(self.activation_dropout(self.activation(self.fc1(x)))))

    def forward(self, x: torch.Tensor, position_bias: torch.Tensor | None) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.dropout(self.self_attn(self.self_attn_layer_norm(x), position_bias))
            return x + self._feed_forward(self.final_layer_norm(x))
        x = self.self_attn_layer_norm(x * self.alpha + self.dropout(self.self_attn(x, position_bias)))
        return self.final_layer_norm(x * self.alpha + self._feed_forward(x))


class Encoder(nn.Module):
    """``encoder``: convolutional position embedding, then the transformer layers."""

    def __init__(self, config: BEATsConfig) -> None:
        super().__init__()
        dim = config.encoder_embed_dim
        self.pos_conv = nn.Sequential(WeightNormConv1d(dim, config.conv_pos, config.conv_pos_groups))
        self.remove = 1 if config.conv_pos % 2 == 0 else 0
        shared = (nn.Embedding(config.num_buckets, config.encoder_attention_heads)
                  if config.relative_position_embedding else None)
        self.num_buckets, self.max_distance = config.num_buckets, config.max_distance
        self.layers = nn.ModuleList(EncoderLayer(config, shared) for _ in range(config.encoder_layers))
        self.layer_norm = nn.LayerNorm(dim)
        self.pre_norm = config.layer_norm_first
        self.dropout, self.layerdrop = nn.Dropout(config.dropout), config.encoder_layerdrop

    def forward(self, x: torch.Tensor, layers: int = 0) -> torch.Tensor:
        """``(B, N, D)`` -> ``(B, N, D)``: the last layer's output, or with ``layers`` = k > 0 the k-th layer's (the
        reference's ``layer_results[k]``; the layers after it are not run, and a pre-LN model's final
        ``layer_norm``, which follows the last layer only, is not applied)."""
        positional = self.pos_conv(x.transpose(1, 2))
        if self.remove:
            positional = positional[..., : -self.remove]
        x = x + F.gelu(positional).transpose(1, 2)
        if not self.pre_norm:
            x = self.layer_norm(x)
        x = self.dropout(x)
        bias = None
        if hasattr(self.layers[0].self_attn, "relative_attention_bias"):
            buckets = relative_buckets(x.shape[1], self.num_buckets, self.max_distance, x.device)
            bias = self.layers[0].self_attn.relative_attention_bias(buckets).permute(2, 0, 1)  # (heads, N, N)
        for layer in self.layers[: layers or None]:
            if self.training and self.layerdrop > 0 and torch.rand(()) < self.layerdrop:
                continue
            x = layer(x, bias)
        return self.layer_norm(x) if self.pre_norm and not layers else x


class BEATs(nn.Module):
    """The BEATs backbone: ``(B, 128, T)`` normalised fbank -> ``(B, (T // 16) * 8, 768)`` patch features.

    Its parameter names are the published state dict's (see the module docstring), so that a checkpoint loads
    with ``load_state_dict(strict=True)``.
    """

    def __init__(self, config: BEATsConfig) -> None:
        super().__init__()
        self.config = config
        patch = config.input_patch_size
        self.patch_embedding = nn.Conv2d(1, config.embed_dim, kernel_size=patch, stride=patch, bias=config.conv_bias)
        self.layer_norm = nn.LayerNorm(config.embed_dim)
        self.post_extract_proj = (nn.Linear(config.embed_dim, config.encoder_embed_dim)
                                  if config.embed_dim != config.encoder_embed_dim else None)
        self.dropout_input = nn.Dropout(config.dropout_input)
        self.encoder = Encoder(config)
        self.predictor = (nn.Linear(config.encoder_embed_dim, config.predictor_class)
                          if config.finetuned_model else None)

    @property
    def feature_dim(self) -> int:
        return self.config.encoder_embed_dim

    def num_patches(self, frames: int) -> int:
        patch = self.config.input_patch_size
        return (frames // patch) * (PATCH_FREQUENCY_BINS // patch)

    def forward(self, fbank: torch.Tensor, layers: int = 0) -> torch.Tensor:
        """``layers``: see :meth:`Encoder.forward` (0: every layer)."""
        patches = self.patch_embedding(fbank.transpose(1, 2).unsqueeze(1))  # (B, C, T/16, 8)
        features = self.layer_norm(patches.flatten(2).transpose(1, 2))
        if self.post_extract_proj is not None:
            features = self.post_extract_proj(features)
        return self.encoder(self.dropout_input(features), layers)
