"""A discriminative system assembled from plugins: frontends -> one network (branch) each -> z_cat.

The core knows only the plugin protocols (hookspecs): it never names a method. Training adds the
augmentations before the frontends and sums the main loss and the optional auxiliary term over the branch
embeddings; inference returns z_cat, L2-normalised over all branches together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from asdbench.errors import SpecError
from asdbench.plugins import Registry


def _options(component: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in component.items() if key != "name"}


class System(nn.Module):
    def __init__(
        self,
        frontends: Sequence[nn.Module],
        networks: Sequence[nn.Module],
        loss: nn.Module,
        aux: nn.Module | None,
        augmentations: Sequence[nn.Module],
    ) -> None:
        super().__init__()
        self.frontends = nn.ModuleList(frontends)
        self.networks = nn.ModuleList(networks)
        self.loss = loss
        self.aux = aux
        self.augmentations = nn.ModuleList(augmentations)

    def branch_embeddings(self, waveforms: torch.Tensor) -> list[torch.Tensor]:
        return [network(frontend(waveforms)) for frontend, network in zip(self.frontends, self.networks)]

    def training_loss(self, waveforms: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        waveforms, targets = self.augment(waveforms, targets)
        return self.branch_loss(self.branch_embeddings(waveforms), targets)

    def augment(self, waveforms: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for augmentation in self.augmentations:
            waveforms, targets = augmentation(waveforms, targets)
        return waveforms, targets

    def branch_loss(self, branches: list[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
        """The main loss plus the auxiliary term, if any, of the branch embeddings of a batch."""
        loss = self.loss(branches, targets)
        if self.aux is not None:
            loss = loss + self.aux(branches, targets)
        return loss

    def embed(self, waveforms: torch.Tensor) -> torch.Tensor:
        """z_cat of each clip, L2-normalised (what backends score)."""
        z_cat = torch.cat(self.branch_embeddings(waveforms), dim=1)
        return nn.functional.normalize(z_cat.to(torch.promote_types(z_cat.dtype, torch.float32)), dim=1)


def build_system(system: dict[str, Any], registry: Registry, *, num_classes: int, num_samples: int) -> System:
    """Instantiate the components of a canonical ``[system]`` table for clips of ``num_samples`` samples."""
    for required in ("frontends", "networks", "loss"):
        if required not in system:
            raise SpecError(f"system.{required} is required to train a system")
    frontends = [registry.create("frontends", c["name"], **_options(c)) for c in system["frontends"]]
    networks = []
    for index, (frontend, component) in enumerate(zip(frontends, system["networks"])):
        factory = registry.get("networks", component["name"]).factory
        networks.append(factory(tuple(frontend.output_shape(num_samples)), **_options(component)))
    dims = [_embedding_dim(network, index) for index, network in enumerate(networks)]
    loss = registry.get("losses", system["loss"]["name"]).factory(dims, num_classes, **_options(system["loss"]))
    aux = None
    if "aux" in system:
        aux = registry.get("losses", system["aux"]["name"]).factory(dims, num_classes, **_options(system["aux"]))
    augmentations = [
        registry.create("augmentations", c["name"], **_options(c)) for c in system.get("augmentations", [])
    ]
    return System(frontends, networks, loss, aux, augmentations)


def _embedding_dim(network: nn.Module, index: int) -> int:
    dim = getattr(network, "embedding_dim", None)
    if not isinstance(dim, int):
        raise SpecError(f"system.networks[{index}]: network {type(network).__name__} has no integer `embedding_dim`")
    return dim
