"""Registration is light: listing plugins and validating specs import no heavy library, and each light factory of
the built-in distributions declares its class's options once: its signature is what the core reads, and calling
it builds the class with every option."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap

import pytest

from asdbench.contract.registration import factory_signature
from asdbench.contract.registry import Registry
from asdbench_methods.adaproj import AdaProj
from asdbench_methods.augmentations import Mixup, SpecAugment
from asdbench_methods.autoencoder import DCASEAutoencoder, ReconstructionLoss
from asdbench_methods.backends import ASDKitKMeansBackend, KNNBackend, TargetKMeansBackend
from asdbench_methods.classscores import ImageCrossEntropy, MobileNetScore
from asdbench_methods.clustering import GMMBIC, HDBSCANClusterer, IdentityReducer, KMeansClusterer, UMAPReducer
from asdbench_methods.featurespaces import ClassSpace, GroundTruthSpace, TripletSpace
from asdbench_methods.frontends import STFT, Spectrum
from asdbench_methods.genrep import GenRepBackend
from asdbench_methods.knnsmote import ASDKitKNNBackend, SMOTEKNNBackend
from asdbench_methods.logmel import LogMel
from asdbench_methods.losses import AdaCos, ArcFace, FeatEx, SubClusterAdaCos, SubspaceLoss
from asdbench_methods.mobilenet import DCASEMobileNetV2
from asdbench_methods.networks import SpectrogramNetwork, SpectrumNetwork
from asdbench_methods.reconstruction import ReconstructionMSEBackend, SelectiveMahalanobisBackend
from asdbench_pretrained.beatsnet import BEATsNetwork
from asdbench_pretrained.eatnet import EATNetwork
from asdbench_pretrained.fbank import BEATsFbank, EATFbank
from asdbench_pretrained.spaces import OpenL3Space, PannsSpace

BUILT_IN = ("asdbench-methods", "asdbench-pretrained")
PRODUCTS: dict[tuple[str, str], type] = {
    ("frontends", "spectrum"): Spectrum,
    ("frontends", "stft"): STFT,
    ("frontends", "log-mel"): LogMel,
    ("networks", "dcase-ae"): DCASEAutoencoder,
    ("losses", "reconstruction"): ReconstructionLoss,
    ("backends", "reconstruction-mse"): ReconstructionMSEBackend,
    ("backends", "selective-mahalanobis"): SelectiveMahalanobisBackend,
    ("networks", "dcase-mobilenetv2"): DCASEMobileNetV2,
    ("losses", "image-cross-entropy"): ImageCrossEntropy,
    ("backends", "mobilenet-score"): MobileNetScore,
    ("frontends", "beats-fbank"): BEATsFbank,
    ("frontends", "eat-fbank"): EATFbank,
    ("networks", "spectrum-cnn"): SpectrumNetwork,
    ("networks", "spectrogram-resnet"): SpectrogramNetwork,
    ("networks", "beats"): BEATsNetwork,
    ("networks", "eat"): EATNetwork,
    ("losses", "scac"): SubClusterAdaCos,
    ("losses", "adacos"): AdaCos,
    ("losses", "arcface"): ArcFace,
    ("losses", "subspace"): SubspaceLoss,
    ("losses", "featex"): FeatEx,
    ("losses", "adaproj"): AdaProj,
    ("augmentations", "mixup"): Mixup,
    ("augmentations", "specaug"): SpecAugment,
    ("backends", "knn"): KNNBackend,
    ("backends", "kmeans-target"): TargetKMeansBackend,
    ("backends", "asdkit-kmeans"): ASDKitKMeansBackend,
    ("backends", "asdkit-knn"): ASDKitKNNBackend,
    ("backends", "knn-smote"): SMOTEKNNBackend,
    ("backends", "genrep"): GenRepBackend,
    ("feature_spaces", "ground-truth"): GroundTruthSpace,
    ("feature_spaces", "class"): ClassSpace,
    ("feature_spaces", "triplet"): TripletSpace,
    ("feature_spaces", "panns"): PannsSpace,
    ("feature_spaces", "openl3"): OpenL3Space,
    ("reducers", "umap"): UMAPReducer,
    ("reducers", "none"): IdentityReducer,
    ("clusterers", "gmm-bic"): GMMBIC,
    ("clusterers", "hdbscan"): HDBSCANClusterer,
    ("clusterers", "kmeans"): KMeansClusterer,
}
"""What each built-in registration builds."""

HEAVY = ("torch", "sklearn", "umap", "hdbscan", "numba", "scipy", "pandas", "soundfile", "librosa", "imblearn")


@pytest.fixture(scope="module")
def registry():
    return Registry()


def test_every_built_in_registration_has_its_product_listed(registry):
    registered = {(r.kind, r.name) for r in registry.all() if r.distribution in BUILT_IN}
    assert registered == set(PRODUCTS)


@pytest.mark.parametrize(("kind", "name"), sorted(PRODUCTS))
def test_a_built_in_factory_builds_its_class_with_the_options_its_signature_declares(registry, kind, name,
                                                                                       monkeypatch):
    """Each built-in factory is a stub (asdbench.api.builds): what the registry reads is its signature, and calling
    it with the runtime arguments alone hands the class every declared option, defaults filled in. The class is
    replaced by a recorder with the class's own parameters, which the factory checks against its options first."""
    product = PRODUCTS[kind, name]
    calls = []

    def record(*args, **kwargs):
        calls.append((args, kwargs))

    record.__signature__ = factory_signature(product)
    monkeypatch.setattr(sys.modules[product.__module__], product.__name__, record)
    registration = registry.get(kind, name)
    stub = inspect.unwrap(registration.factory)
    assert stub is not registration.factory and inspect.signature(registration.factory) == inspect.signature(stub)
    runtime = tuple(object() for p in inspect.signature(stub).parameters.values() if p.kind is p.POSITIONAL_ONLY)
    registration.factory(*runtime)
    assert calls == [(runtime, registration.options())]


LIST_AND_VALIDATE = textwrap.dedent("""
    import contextlib, io, json, sys

    from asdbench.cli.main import main
    from asdbench.contract.registry import get_registry
    from asdbench.spec.validate import validate_spec

    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["plugins"]) == 0
    registry = get_registry()
    assert not registry.failures, registry.failures
    for registration in registry.all():
        registration.options()
    for space in registry.names("feature_spaces"):
        validate_spec({
            "seed": 1,
            "dataset": {"name": "dcase2023", "root": "/data/dcase2023", "splits": ["dev"]},
            "system": {"labels": f"pseudo:{space}", "frontends": ["spectrum", {"name": "stft", "n_fft": 256}],
                       "networks": ["spectrum-cnn", "spectrogram-resnet"], "loss": "scac", "aux": "featex",
                       "augmentations": ["mixup"], "backend": "kmeans-target"},
        }, registry)
    print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in sys.argv[1:])))
""")


@pytest.mark.slow
def test_listing_plugins_and_validating_specs_import_nothing_heavy():
    """What keeps `asdbench plugins` and `asdbench spec` fast: a fresh process, so nothing is imported already."""
    env = {k: v for k, v in os.environ.items() if k not in ("ASDBENCH_LOAD_PLUGINS", "ASDBENCH_TRACE_PLUGINS")}
    done = subprocess.run([sys.executable, "-c", LIST_AND_VALIDATE, *HEAVY], capture_output=True, text=True,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


STATUS = textwrap.dedent("""
    import contextlib, io, json, sys

    from asdbench.cli.main import main

    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["status", sys.argv[1], "--out", sys.argv[2]]) == 0
    print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] == "torch")))
""")


@pytest.mark.slow
def test_grid_status_reads_the_store_without_torch(tmp_path):
    """`asdbench status`, polled while a grid runs on a cluster, loads the run machinery only to compute."""
    grid = tmp_path / "grid.toml"
    grid.write_text('[base]\n[base.dataset]\nname = "synth"\nroot = "data"\n[base.system]\nbackend = "knn"\n'
                    '[axes]\nseed = [1, 2]\n')
    (tmp_path / "runs").mkdir()
    done = subprocess.run([sys.executable, "-c", STATUS, str(grid), str(tmp_path / "runs")], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
