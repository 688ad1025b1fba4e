"""Makes ``mobilenet_baseline.npz``: what the DCASE 2021/2022 Task 2 MobileNetV2 baseline's own code computes on fixed
clips and weights, which ``tests/test_baseline_mobilenet.py`` compares ``log-mel`` (both pad modes),
``dcase-mobilenetv2``, ``image-cross-entropy`` and ``mobilenet-score`` (both formulas) against.

Not run by ``make test``: ``tests/golden/regenerate_mobilenet.sh CHECKOUT_2021 CHECKOUT_2022`` runs it in the
baseline's own environment (TensorFlow/Keras 2.8.0, librosa 0.9.1: the 2022 ``requirements.txt``). Nothing of
asdbench is imported and nothing of the baseline is transcribed; its modules are imported from the checkouts
(y-kawagu/dcase2021_task2_baseline_mobile_net_v2 at e2bb4f7, Kota-Dohi/dcase2022_task2_baseline_mobile_net_v2 at
aaf3932) and called:

- features: each checkout's ``common.file_to_vectors`` on each clip, written as a float WAV, with ``baseline.yaml``'s
  feature options. 2021 pins librosa 0.6.0, whose ``stft`` pads with ``pad_mode='reflect'``; librosa 0.6.0 does not
  import beside today's joblib, so the 2021 features are made with librosa 0.9.1 given ``pad_mode='reflect'``
  (``librosa.feature.melspectrogram`` wrapped with that keyword while the 2021 ``file_to_vectors`` runs): the
  padding is the year's, the rest of librosa 0.9.1's computation is the 2022 one.
- the network: the 2022 ``keras_model.get_model(64, 128, 3, 1e-5)`` (2021's is the same but for an import), with
  the weights of ``inputs.mobilenet_weight`` and every batch-norm layer's moving statistics set, layer by layer, to
  the statistics of its input on the golden images (perturbed): Keras's initial ones (mean 0, variance 1) shrink
  the activations with depth until every image has the same softmax;
- the scores: ``model.predict`` on each clip's images, then the expressions of ``01_test.py`` (2021 lines 167-169,
  2022 lines 170-172), which is a script and is not imported: the slice of the section's column and the two
  ``np.mean(...)`` lines as each year writes them, for every section of the head;
- the loss: ``keras.losses.categorical_crossentropy`` (the compiled loss of ``keras_model.py``) of each image's
  softmax against its section's one-hot target, averaged over the clip's images.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkouts import git_commit

import inputs  # numpy only, shared with the tests

FEATURES = dict(n_mels=128, n_frames=64, n_fft=1024, hop_length=512, power=2.0)
"""``baseline.yaml``'s feature options (both years), as ``file_to_vectors`` names them."""


def import_common(checkout: Path):
    """The checkout's ``common`` module (its logging writes ``baseline.log`` into the working directory, a
    temporary one)."""
    sys.path.insert(0, str(checkout))
    try:
        sys.modules.pop("common", None)
        import common
    finally:
        sys.path.remove(str(checkout))
    return common


def features(common, clips: np.ndarray, folder: Path, **melspectrogram) -> np.ndarray:
    import librosa.feature
    import soundfile as sf

    original = librosa.feature.melspectrogram
    librosa.feature.melspectrogram = functools.partial(original, **melspectrogram)
    try:
        vectors = []
        for index, clip in enumerate(clips):
            path = folder / f"clip_{index}.wav"
            sf.write(path, clip, inputs.SAMPLE_RATE, subtype="FLOAT")
            vectors.append(common.file_to_vectors(str(path), **FEATURES))
    finally:
        librosa.feature.melspectrogram = original
    return np.stack(vectors)


def set_weights(model, images: np.ndarray) -> dict[str, np.ndarray]:
    """Every weight from ``inputs.mobilenet_weight``; each batch-norm layer's moving mean and variance from its
    input on ``images`` (mean + N(0, 0.05^2) std, variance x U(0.8, 1.25)), in layer order. Returns the moving
    statistics set."""
    import tensorflow as tf

    sub = model.layers[-1]
    rng = inputs.rng("mobilenet/moving-statistics")
    stored = {}
    three = np.concatenate([images] * 3, axis=-1)
    for layer in sub.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if type(layer).__name__ == "BatchNormalization":
            seen = tf.keras.Model(sub.input, layer.input)(three, training=False).numpy()
            axes = tuple(range(seen.ndim - 1))
            mean = (seen.mean(axes) + 0.05 * rng.standard_normal(weights[2].shape) * seen.std(axes)).astype("f4")
            variance = (seen.var(axes) * rng.uniform(0.8, 1.25, weights[3].shape)).astype("f4")
            layer.set_weights([inputs.mobilenet_weight(f"{layer.name}/0", weights[0].shape),
                               inputs.mobilenet_weight(f"{layer.name}/1", weights[1].shape), mean, variance])
            stored[f"moving/{layer.name}/mean"], stored[f"moving/{layer.name}/variance"] = mean, variance
        else:
            layer.set_weights([inputs.mobilenet_weight(f"{layer.name}/{i}", w.shape) for i, w in enumerate(weights)])
    return stored


def scores(model, clip_images: np.ndarray) -> dict[str, np.ndarray]:
    """Per clip and section: ``01_test.py``'s two scores, and the mean categorical cross-entropy."""
    import tensorflow as tf

    out = {name: np.zeros((len(clip_images), inputs.MOBILENET_CLASSES), np.float32)
           for name in ("score/2021", "score/2022", "cross-entropy")}
    softmax = []
    for clip, data in enumerate(clip_images):
        data = data.reshape(data.shape[0], FEATURES["n_frames"], FEATURES["n_mels"], 1)
        predicted = model.predict(data)
        softmax.append(predicted)
        for section_idx in range(inputs.MOBILENET_CLASSES):
            p = model.predict(data)[:, section_idx : section_idx + 1]
            # 2021, 01_test.py:168-169
            out["score/2021"][clip, section_idx] = np.mean(np.log(np.maximum(1.0 - p, sys.float_info.epsilon)
                                                                  - np.log(np.maximum(p, sys.float_info.epsilon))))
            # 2022, 01_test.py:171-172
            out["score/2022"][clip, section_idx] = np.mean(np.log(np.maximum(1.0 - p, sys.float_info.epsilon))
                                                           - np.log(np.maximum(p, sys.float_info.epsilon)))
            target = np.zeros_like(predicted)
            target[:, section_idx] = 1
            out["cross-entropy"][clip, section_idx] = np.mean(
                tf.keras.losses.categorical_crossentropy(target, predicted).numpy())
    out["softmax"] = np.stack(softmax)
    return out


def reference(checkout_2021: Path, checkout_2022: Path) -> dict[str, np.ndarray]:
    work = Path(tempfile.mkdtemp())
    os.chdir(work)
    clips = inputs.mobilenet_clips()
    out: dict[str, np.ndarray] = {"input": inputs.fingerprint(clips.ravel())}
    vectors_2022 = features(import_common(checkout_2022), clips, work)
    out["features/2022"] = vectors_2022.astype(np.float32)
    out["features/2021"] = features(import_common(checkout_2021), clips[:1], work, pad_mode="reflect")[0].astype(
        np.float32)

    sys.path.insert(0, str(checkout_2022))
    import keras_model

    model = keras_model.get_model(FEATURES["n_frames"], FEATURES["n_mels"], inputs.MOBILENET_CLASSES, 1e-5)
    images = vectors_2022.reshape(-1, FEATURES["n_frames"], FEATURES["n_mels"], 1).astype(np.float32)
    out.update(set_weights(model, images))
    out["count_params"] = np.array(model.count_params())
    out.update(scores(model, vectors_2022.astype(np.float32)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout_2021", type=Path, help="a checkout of y-kawagu/dcase2021_task2_baseline_mobile_net_v2")
    parser.add_argument("checkout_2022", type=Path,
                        help="a checkout of Kota-Dohi/dcase2022_task2_baseline_mobile_net_v2")
    parser.add_argument("out", type=Path, help="the folder of mobilenet_baseline.npz (tests/golden)")
    args = parser.parse_args()
    checkouts = args.checkout_2021.resolve(), args.checkout_2022.resolve()
    out = args.out.resolve()
    golden = reference(*checkouts)
    np.savez_compressed(out / "mobilenet_baseline.npz", **golden)
    from importlib.metadata import version

    provenance = {
        "repositories": {"y-kawagu/dcase2021_task2_baseline_mobile_net_v2": git_commit(checkouts[0]),
                         "Kota-Dohi/dcase2022_task2_baseline_mobile_net_v2": git_commit(checkouts[1])},
        "python": sys.version.split()[0],
        "versions": {name: version(name) for name in ("tensorflow-cpu", "keras", "librosa", "numpy", "soundfile")},
        "environment": "the 2022 requirements.txt (TensorFlow/Keras 2.8.0, librosa 0.9.1) on CPU; the 2021 features "
                       "with librosa 0.9.1 given pad_mode='reflect', librosa 0.6.0's default (see the script)",
    }
    (out / "mobilenet_baseline_provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")


if __name__ == "__main__":
    main()
