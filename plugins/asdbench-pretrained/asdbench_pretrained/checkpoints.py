"""Reading published PyTorch weight files safely and loading them strictly into our architectures."""

from __future__ import annotations

import pickle
import types
from pathlib import Path
from typing import Any

import torch
from torch import nn

from asdbench.api import AsdbenchError
from asdbench_pretrained.weights import is_published, weight_file


def read(path: Path, name: str) -> Any:
    """``torch.load`` of weight file ``name`` at ``path``, on the CPU.

    Read with ``weights_only=True`` (no code runs from the file). A file that holds more than tensors (the
    PANNs training code also pickles its data sampler's numpy arrays) is read only if its bytes are exactly the
    published file's, checked against the published checksum, and then by the inert unpickler of
    :func:`read_fairseq`: even the published file's pickle runs nothing (the sampler's arrays become inert
    :class:`Foreign` stand-ins, which no network reads).
    """
    entry = weight_file(name)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = _reason(exc)
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise AsdbenchError(f"{path}: not a readable PyTorch file ({exc}); is it a complete download of "
                            f"{entry.filename}? Download it again from {entry.url}") from None
    if not is_published(path, name):
        raise AsdbenchError(f"{path}: cannot be read as plain tensors ({reason}) and is not the published "
                            f"{entry.filename} ({entry.checksum_text}); download it again "
                            f"from {entry.url}")
    return _read_inert(path, entry.filename, entry.url)


def _reason(exc: Exception) -> str:
    """The line of torch's long weights-only message that says what it refused."""
    text = str(exc)
    marker = "WeightsUnpickler error:"
    if marker in text:
        detail = [line.strip() for line in text.split(marker, 1)[1].splitlines() if line.strip()]
        if detail:
            return detail[0]
    return next((line.strip() for line in text.splitlines() if line.strip()), "unreadable")


def load_state(model: nn.Module, state: dict[str, Any], path: Path) -> None:
    """``load_state_dict(strict=True, assign=True)``, with a message naming the file when the key set or a shape
    differs. ``model`` may live on the meta device (built without memory); it then takes the file's tensors.

    Only BatchNorm's ``num_batches_tracked`` counters, which eval never reads, may be absent from the file.
    """
    expected = model.state_dict()
    state = dict(state)
    for key, value in expected.items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros((), dtype=value.dtype)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(key for key in set(expected) & set(state)
                   if tuple(getattr(state[key], "shape", ())) != tuple(expected[key].shape))
    if missing or unexpected or wrong:
        details = []
        if missing:
            details.append(f"{len(missing)} keys missing (first: {missing[0]})")
        if unexpected:
            details.append(f"{len(unexpected)} unexpected keys (first: {unexpected[0]})")
        if wrong:
            first = wrong[0]
            details.append(f"{len(wrong)} shapes differ (first: {first}: file {tuple(state[first].shape)}, "
                           f"model {tuple(expected[first].shape)})")
        raise AsdbenchError(f"{path}: does not fit the {type(model).__name__} architecture at this width: "
                            f"{'; '.join(details)}")
    model.load_state_dict(state, strict=True, assign=True)


def read_fairseq(path: Path, name: str) -> Any:
    """A fairseq checkpoint (``{"cfg": ..., "model": ..., "extra_state": ...}``) at ``path``, on the CPU, without
    running code from it.

    First as ``torch.load(weights_only=True)`` reads it. fairseq's trainer saves ``cfg`` as plain containers, but
    ``extra_state`` holds training meters whose values may be numpy scalars, and a checkpoint saved another way may
    pickle classes of fairseq's or the model's own code (config enums, omegaconf containers), which
    ``weights_only`` refuses and a full load would have to import and run. Such a file is read again with an
    unpickler that resolves exactly the globals ``weights_only`` allows and turns every other class into an inert
    :class:`Foreign` stand-in (its name, arguments and state kept, nothing of it run), whatever the file's checksum
    (none is published): nothing the network reads comes from them.
    """
    entry = weight_file(name)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise AsdbenchError(f"{path}: not a readable PyTorch file ({exc}); is it a complete download of "
                            f"{entry.filename}? Download it again from {entry.url}") from None
    return _read_inert(path, entry.filename, entry.url, "fairseq checkpoint")


def _read_inert(path: Path, filename: str, url: str, what: str = "PyTorch file") -> Any:
    """``torch.load`` through :class:`_InertUnpickler`: every class outside ``weights_only``'s list is data."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_inert_pickle)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, TypeError, AttributeError) as exc:
        raise AsdbenchError(f"{path}: not a readable {what} ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'}); is it a complete download "
                            f"of {filename}? Download it again from {url}") from None


class Foreign:
    """What a pickled object of a class outside ``weights_only``'s allow-list becomes: inert data."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}  # noqa: RUF012 - read by objects unpickled without __init__, never mutated
    state: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs, self.state = args, kwargs, None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"Foreign({type(self).__module__}.{type(self).__qualname__}, args={self.args!r})"


class _InertUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        from torch._weights_only_unpickler import _get_allowed_globals

        allowed = _get_allowed_globals().get(f"{module}.{name}")
        if allowed is not None:
            return allowed
        return type(name, (Foreign,), {"__module__": module, "__qualname__": name})


_inert_pickle = types.ModuleType("asdbench_inert_pickle")
_inert_pickle.Unpickler = _InertUnpickler  # type: ignore[attr-defined]
_inert_pickle.load = lambda file, **kwargs: _InertUnpickler(file, **kwargs).load()  # type: ignore[attr-defined]
