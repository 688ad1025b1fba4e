"""The plugin contract enforced at the boundary: calls into a plugin and what comes back out of it.

:func:`plugin_call` turns an exception raised inside a plugin into one line naming the component (kind, name,
distribution), chained from the original so that ``--debug`` shows where it happened. The ``check_*``
functions test a component's product or output against its kind's contract (asdbench.hookspecs) and raise a
:class:`ContractError` naming the component and what was expected, instead of letting a wrong shape surface
later as a traceback from numpy, pandas or torch. Tensor checks take ``finite=False`` in a training loop:
testing values synchronises the device on every batch. numpy and torch are imported by the checks that need
them: the registry builds components through this module, and listing plugins should not load either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from asdbench.contract.kinds import CONTRACTS
from asdbench.errors import AsdbenchError, ContractError, PluginCallError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from asdbench.contract.registration import Registration


@contextmanager
def plugin_call(registration: Registration, method: str) -> Iterator[None]:
    """Raise what the block raises as a :class:`PluginCallError` naming ``registration`` and ``method``.

    An :class:`AsdbenchError` passes unchanged: plugins raise those for what the user can fix, with a message
    of their own (and a component's nested calls into other components are named there already).
    """
    try:
        yield
    except AsdbenchError:
        raise
    except Exception as exc:
        lines = str(exc).strip().splitlines() or [""]
        detail = lines[0] + (" ..." if len(lines) > 1 else "")
        raise PluginCallError(f"{registration.label} failed in {method}(): {type(exc).__name__}: {detail}; "
                              "run with --debug for the traceback") from exc


def _broken(registration: Registration, method: str, problem: str) -> ContractError:
    return ContractError(f"{registration.label} broke its contract in {method}(): {problem} "
                         "(see asdbench.hookspecs)")


# --- products ---------------------------------------------------------------------------------------------


def check_product(product: Any, registration: Registration) -> None:
    """What a factory returned has every member of its kind's protocol (and, per kind, the rest below)."""
    kind = CONTRACTS[registration.kind]
    missing = [m for m in kind.members() if not (callable(product) if m == "__call__" else hasattr(product, m))]
    if missing:
        raise _broken(registration, "factory", f"it returned an instance of {type(product).__name__} without "
                      f"{', '.join(missing)}; a {kind.singular} needs {', '.join(kind.members())}")
    parameters = getattr(product, "parameters", None)
    if registration.kind == "frontends" and parameters is not None and any(True for _ in parameters()):
        raise _broken(registration, "factory", "the frontend has parameters; frontends must be parameter-free "
                      "(stacked-seed training computes one frontend pass for every seed)")
    if registration.kind == "networks":
        dim = product.embedding_dim
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise _broken(registration, "factory", f"embedding_dim is {dim!r}; it must be a positive int")


# --- tensors ----------------------------------------------------------------------------------------------


def _check_tensor(value: Any, shape: tuple[int, ...], what: str, registration: Registration, method: str,
                  finite: bool) -> torch.Tensor:
    import torch

    if not isinstance(value, torch.Tensor):
        raise _broken(registration, method, f"{what}: {type(value).__name__}, not a torch.Tensor")
    if tuple(value.shape) != shape:
        raise _broken(registration, method, f"{what}: shape {tuple(value.shape)}, expected {shape}")
    if not value.is_floating_point():
        raise _broken(registration, method, f"{what}: dtype {value.dtype}, expected a floating dtype")
    if finite and not bool(torch.isfinite(value).all()):
        raise _broken(registration, method, f"{what}: non-finite values")
    return value


def check_frontend_output(features: Any, batch: int, output_shape: tuple[int, ...], registration: Registration,
                          *, finite: bool = True) -> torch.Tensor:
    """Features of ``batch`` waveforms: ``(batch, *output_shape)``, floating (``output_shape`` from the frontend)."""
    return _check_tensor(features, (batch, *output_shape), "the features", registration, "forward", finite)


def check_network_output(embeddings: Any, batch: int, embedding_dim: int, registration: Registration,
                         *, finite: bool = True) -> torch.Tensor:
    """Embeddings of ``batch`` inputs: ``(batch, embedding_dim)``, floating."""
    return _check_tensor(embeddings, (batch, embedding_dim), "the embeddings", registration, "forward", finite)


def check_loss(value: Any, branches: list[torch.Tensor], registration: Registration, *,
               finite: bool = True) -> torch.Tensor:
    """A loss of ``branches``: a floating scalar tensor, on the autograd graph when the branches are."""
    import torch

    loss = _check_tensor(value, (), "the loss", registration, "forward", finite)
    if torch.is_grad_enabled() and any(b.requires_grad for b in branches) and not loss.requires_grad:
        raise _broken(registration, "forward", "the loss does not require grad: no gradient reaches the networks")
    return loss


def check_augmentation_output(output: Any, waveforms: torch.Tensor, targets: torch.Tensor,
                              registration: Registration, *, finite: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``(waveforms, targets)`` of the shapes the augmentation was given."""
    if not isinstance(output, tuple | list) or len(output) != 2:
        raise _broken(registration, "forward", f"it returned a {type(output).__name__}, expected a (waveforms, "
                      "targets) pair")
    return (_check_tensor(output[0], tuple(waveforms.shape), "the waveforms", registration, "forward", finite),
            _check_tensor(output[1], tuple(targets.shape), "the targets", registration, "forward", finite))


# --- arrays -----------------------------------------------------------------------------------------------


def _numeric(value: Any, what: str, registration: Registration, method: str) -> np.ndarray:
    import numpy as np

    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged lists, objects numpy cannot hold
        raise _broken(registration, method, f"{what}: not an array ({exc})") from None
    if array.dtype.kind not in "iuf":
        raise _broken(registration, method, f"{what}: dtype {array.dtype}, expected numbers")
    if not np.isfinite(array).all():
        raise _broken(registration, method, f"{what}: {int((~np.isfinite(array)).sum())} non-finite values")
    return array


def check_scores(scores: Any, count: int, registration: Registration) -> np.ndarray:
    """A backend's scores of ``count`` embeddings: ``(count,)`` finite numbers; returned as float64."""
    import numpy as np

    array = _numeric(scores, "the scores", registration, "score")
    if array.shape != (count,):
        raise _broken(registration, "score", f"it returned scores of shape {array.shape} for {count} embeddings, "
                      f"expected ({count},)")
    return array.astype(np.float64)


def check_reduced(points: Any, count: int, registration: Registration) -> np.ndarray:
    """A reducer's output for ``count`` embeddings: ``(count, d)`` finite numbers."""
    array = _numeric(points, "the reduced points", registration, "fit_transform")
    if array.ndim != 2 or len(array) != count:
        raise _broken(registration, "fit_transform", f"it returned shape {array.shape} for {count} embeddings, "
                      f"expected ({count}, d)")
    return array


def check_clusters(labels: Any, count: int, max_clusters: int, registration: Registration) -> np.ndarray:
    """A clusterer's output for ``count`` points: ``(count,)`` integers, at most ``max_clusters`` distinct."""
    import numpy as np

    array = np.asarray(labels)
    if array.shape != (count,):
        raise _broken(registration, "fit_predict", f"it returned shape {array.shape} for {count} points, "
                      f"expected ({count},)")
    if array.dtype.kind not in "iu":
        raise _broken(registration, "fit_predict", f"the cluster indices have dtype {array.dtype}, expected integers")
    if len(np.unique(array)) > max_clusters:
        raise _broken(registration, "fit_predict", f"it found {len(np.unique(array))} clusters, more than "
                      f"max_clusters={max_clusters}")
    return array


def check_feature_space_output(output: Any, count: int, registration: Registration) -> np.ndarray:
    """A feature space's output for ``count`` clips: ``(count, D)`` finite numbers, or ``(count,)`` class names."""
    import numpy as np

    array = np.asarray(output)
    if array.ndim == 1:
        if len(array) != count:
            raise _broken(registration, "embed", f"it returned {len(array)} class names for {count} clips")
        return array
    array = _numeric(array, "the embeddings", registration, "embed")
    if array.ndim != 2 or len(array) != count:
        raise _broken(registration, "embed", f"it returned shape {array.shape} for {count} clips, expected "
                      f"({count}, D) embeddings or ({count},) class names")
    return array
