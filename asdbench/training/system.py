"""A discriminative system assembled from plugins: frontends -> one network (branch) each -> z_cat.

The core knows only the plugin protocols (hookspecs): it never names a method. Training adds the
augmentations before the frontends and sums the main loss and the optional auxiliary term over the branch
embeddings; inference returns z_cat, L2-normalised over all branches together (or as the networks output it, for
``system.embeddings = "raw"``). A system that is never trained
(``train.epochs = 0``) is built without a loss, auxiliary term or augmentations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from asdbench.contract.boundary import (
    check_augmentation_output,
    check_frontend_output,
    check_loss,
    check_network_output,
    plugin_call,
)
from asdbench.contract.registration import Registration
from asdbench.contract.registry import Registry
from asdbench.data.audio import SAMPLE_RATE
from asdbench.errors import AsdbenchError, SpecError


@dataclass(frozen=True)
class Sources:
    """The registration each component of a :class:`System` was built from, so that a failing call names it.

    The per-batch checks test shapes and dtypes only: testing values would synchronise the device every batch
    (training reports non-finite losses itself).
    """

    frontends: tuple[Registration, ...]
    networks: tuple[Registration, ...]
    loss: Registration | None
    aux: Registration | None
    augmentations: tuple[Registration, ...]


class System(nn.Module):
    def __init__(
        self,
        frontends: Sequence[nn.Module],
        networks: Sequence[nn.Module],
        loss: nn.Module | None,
        aux: nn.Module | None,
        augmentations: Sequence[nn.Module],
        sources: Sources,
        normalise: bool = True,
    ) -> None:
        super().__init__()
        self.frontends = nn.ModuleList(frontends)
        self.networks = nn.ModuleList(networks)
        self.loss = loss
        self.aux = aux
        self.augmentations = nn.ModuleList(augmentations)
        self.sources = sources
        self.normalise = normalise

    def branch_embeddings(self, waveforms: torch.Tensor) -> list[torch.Tensor]:
        branches = []
        batch, num_samples = len(waveforms), waveforms.shape[-1]
        for frontend, network, frontend_source, network_source in zip(
            self.frontends, self.networks, self.sources.frontends, self.sources.networks
        ):
            with plugin_call(frontend_source, "forward"):
                features = frontend(waveforms)
            with plugin_call(frontend_source, "output_shape"):
                shape = tuple(frontend.output_shape(num_samples))
            check_frontend_output(features, batch, shape, frontend_source, finite=False)
            with plugin_call(network_source, "forward"):
                embeddings = network(features)
            branches.append(check_network_output(embeddings, batch, network.embedding_dim, network_source,
                                                 finite=False))
        return branches

    def training_loss(self, waveforms: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        waveforms, targets = self.augment(waveforms, targets)
        return self.branch_loss(self.branch_embeddings(waveforms), targets)

    def augment(self, waveforms: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for augmentation, source in zip(self.augmentations, self.sources.augmentations):
            with plugin_call(source, "forward"):
                output = augmentation(waveforms, targets)
            waveforms, targets = check_augmentation_output(output, waveforms, targets, source, finite=False)
        return waveforms, targets

    def branch_loss(self, branches: list[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
        """The main loss plus the auxiliary term, if any, of the branch embeddings of a batch."""
        if self.loss is None or self.sources.loss is None:
            raise SpecError("this system was built without a loss (for train.epochs = 0): it cannot be trained")
        loss = self._loss(self.loss, self.sources.loss, branches, targets)
        if self.aux is not None:
            loss = loss + self._loss(self.aux, self.sources.aux, branches, targets)
        return loss

    @staticmethod
    def _loss(loss: nn.Module, source: Registration, branches: list[torch.Tensor],
              targets: torch.Tensor) -> torch.Tensor:
        with plugin_call(source, "forward"):
            value = loss(branches, targets)
        return check_loss(value, branches, source, finite=False)

    def embed(self, waveforms: torch.Tensor) -> torch.Tensor:
        """z_cat of each clip, L2-normalised unless the system was built with ``normalise=False`` (what backends
        score), in at least float32."""
        z_cat = torch.cat(self.branch_embeddings(waveforms), dim=1)
        z_cat = z_cat.to(torch.promote_types(z_cat.dtype, torch.float32))
        return nn.functional.normalize(z_cat, dim=1) if self.normalise else z_cat


def build_system(system: dict[str, Any], registry: Registry, *, num_classes: int, num_samples: int,
                 trained: bool = True) -> System:
    """Instantiate the components of a canonical ``[system]`` table for clips of ``num_samples`` samples.

    ``num_classes`` is given to the loss, the auxiliary term and each network that declares it (a network with its
    own classifier head). ``trained=False`` builds a system that is only embedded with (``train.epochs = 0``): no
    loss, auxiliary term or augmentations, and no network that needs classes, which spec validation refuses for such
    a system; ``num_classes`` is unused.
    """
    for required in ("frontends", "networks", "loss") if trained else ("frontends", "networks"):
        if required not in system:
            raise SpecError(f"system.{required} is required to {'train' if trained else 'build'} a system")
    sources = Sources(
        tuple(registry.get("frontends", c["name"]) for c in system["frontends"]),
        tuple(registry.get("networks", c["name"]) for c in system["networks"]),
        registry.get("losses", system["loss"]["name"]) if trained else None,
        registry.get("losses", system["aux"]["name"]) if trained and "aux" in system else None,
        tuple(registry.get("augmentations", c["name"]) for c in system.get("augmentations", [])) if trained else (),
    )
    frontends = [registry.build("frontends", c) for c in system["frontends"]]
    networks = []
    for index, (frontend, source, component) in enumerate(zip(frontends, sources.frontends, system["networks"])):
        with plugin_call(source, "output_shape"):
            input_shape = tuple(frontend.output_shape(num_samples))
        try:
            networks.append(registry.build("networks", component, input_shape, num_classes))
        except AsdbenchError as exc:  # the network cannot say which option sets its input: here that is known
            raise AsdbenchError(f"system.networks[{index}], on system.frontends[{index}]'s output for clips of "
                                f"{num_samples / SAMPLE_RATE:g} s (train.clip_seconds): {exc}") from exc
    normalise = system.get("embeddings", "normalised") == "normalised"
    if not trained:
        return System(frontends, networks, None, None, [], sources, normalise)
    dims = [network.embedding_dim for network in networks]  # a positive int: checked when built
    loss = registry.build("losses", system["loss"], dims, num_classes)
    aux = registry.build("losses", system["aux"], dims, num_classes) if "aux" in system else None
    augmentations = [registry.build("augmentations", c) for c in system.get("augmentations", [])]
    return System(frontends, networks, loss, aux, augmentations, sources, normalise)
