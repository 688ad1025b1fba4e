"""The published weight files: where they come from, where asdbench looks for them, and how to fetch them.

Nothing here downloads on its own: a feature space only reads a file the user put in place (or gave the path
of). :func:`fetch` downloads one where there is internet and checks it against the checksum its publisher
documents. The documented checksum differs per source (Zenodo publishes MD5; a file in a Git repository is
identified by its Git blob SHA-1), so each entry names its algorithm. See this distribution's README.md.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

from asdbench.api import AsdbenchError, atomic_path

CHUNK = 1 << 20
LABELS = {"md5": "MD5", "sha256": "SHA-256", "git-blob-sha1": "Git blob SHA-1", "none": "no published checksum"}


@dataclass(frozen=True)
class WeightFile:
    """One published weight file."""

    name: str  # the component that reads it, or for another release of its weights a name of its own
    filename: str
    url: str
    algorithm: str  # "md5", "sha256", "git-blob-sha1", or "none" where the publisher gives no checksum
    checksum: str
    source: str  # what publishes the file and its checksum, for messages and the README
    sha256: str = ""  # empty where no SHA-256 is published
    fetched_by: str = ""  # the component whose `asdbench models fetch` downloads it; "" for its `name`, "-" for none

    @property
    def checksum_text(self) -> str:
        if self.algorithm == "none":
            return "its publisher gives no checksum"
        return f"{LABELS[self.algorithm]} {self.checksum}"


WEIGHTS: dict[str, WeightFile] = {
    "panns": WeightFile(
        name="panns",
        filename="Cnn14_mAP=0.431.pth",
        url="https://zenodo.org/record/3987831/files/Cnn14_mAP%3D0.431.pth?download=1",
        algorithm="md5",
        checksum="541141fa2ee191a88f24a3219fff024e",
        source="PANNs CNN14 (Kong et al. 2020), Zenodo record 3987831, which lists the file's MD5",
    ),
    "openl3": WeightFile(
        name="openl3",
        filename="torchopenl3_mel128_env_512.pth.tar",
        url="https://github.com/torchopenl3/torchopenl3-models/raw/master/torchopenl3_mel128_env_512.pth.tar",
        algorithm="git-blob-sha1",
        checksum="0bd0f509b478fd015f5ff44fc260b3248d03307d",
        source="OpenL3 env/mel128/512 (Cramer et al. 2019) as ported to PyTorch by torchopenl3, GitHub repository "
               "torchopenl3/torchopenl3-models (the checksum is the file's Git blob id in that repository)",
    ),
    "beats": WeightFile(
        name="beats",
        filename="BEATs_iter3.pt",
        url="https://valle.blob.core.windows.net/share/BEATs/BEATs_iter3.pt?sv=2020-08-04"
            "&st=2023-03-01T07%3A51%3A05Z&se=2033-03-02T07%3A51%3A00Z&sr=c&sp=rl"
            "&sig=QJXmSJG9DbMKf48UDIU1MfzIro8HQOf3sqlNXiflY1I%3D",
        algorithm="none",
        checksum="",
        source="BEATs iter3 (Chen et al. 2023), the Azure link of microsoft/unilm's beats/README.md at commit "
               "6ae30d5 (March 2023, signed until 2033; since 7bd2f87 the README links the same file on OneDrive, "
               "https://1drv.ms/u/s!AqeByhGUtINrgcpxJUNDxg4eU0r-vA?e=qezPJ5); the checkpoint ASDKit's BEATs + LoRA "
               "recipe reads",
    ),
    "beats-as2m-cpt1": WeightFile(
        name="beats-as2m-cpt1",
        filename="BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt1.pt",
        url="https://valle.blob.core.windows.net/share/BEATs/BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt1.pt"
            "?sv=2020-08-04&st=2023-03-01T07%3A51%3A05Z&se=2033-03-02T07%3A51%3A00Z&sr=c&sp=rl"
            "&sig=QJXmSJG9DbMKf48UDIU1MfzIro8HQOf3sqlNXiflY1I%3D",
        algorithm="none",
        checksum="",
        source="BEATs iter3+ (AS2M) fine-tuned on AS2M, cpt1 (Chen et al. 2023), the Azure link of microsoft/unilm's "
               "beats/README.md at commit 6ae30d5; the checkpoint GenRep reads (Phuriches/GenRepASD, model "
               "beats_ft1)",
        fetched_by="-",  # `asdbench models fetch beats` fetches iter3; this release is downloaded by hand
    ),
    "eat": WeightFile(
        name="eat",
        filename="EAT-base_epoch10_pt.pt",
        url="https://drive.usercontent.google.com/download?id=10pklbY_fKraQUIBizSg1kv4lJXNWxpxl&export=download"
            "&confirm=t",
        algorithm="none",
        checksum="",
        source="EAT-base pre-trained for 10 epochs on AudioSet-2M (Chen et al. 2024), the fairseq checkpoint on "
               "Google Drive that cwx-worst-one/EAT's README.md (commit 06c1c34) links as "
               "https://drive.google.com/file/d/10pklbY_fKraQUIBizSg1kv4lJXNWxpxl/view, and the checkpoint "
               "ASDKit's EAT + LoRA recipe reads (pretrained_models/eat/checkpoints.txt names it "
               "EAT-base_epoch10_pt)",
    ),
}


def weight_file(name: str) -> WeightFile:
    try:
        return WEIGHTS[name]
    except KeyError:
        raise AsdbenchError(f"no published weights named {name!r}; known: {', '.join(sorted(WEIGHTS))}") from None


def models_dir() -> Path:
    """``$ASDBENCH_MODELS_DIR``, else ``~/.cache/asdbench/models``."""
    return Path(os.environ.get("ASDBENCH_MODELS_DIR", Path.home() / ".cache" / "asdbench" / "models"))


def instructions(entry: WeightFile, expected: Path) -> str:
    """How to obtain ``entry`` and where to put it: the tail of every missing-weights message."""
    sha256 = f"SHA-256 {entry.sha256}" if entry.sha256 else "no SHA-256 is published"
    text = (f"Download {entry.url} ({entry.source}; {entry.checksum_text}, {sha256}) and save it "
            f"as {expected}, or set ASDBENCH_MODELS_DIR to the folder that holds {entry.filename}, or give its path as "
            "its `weights` option.")
    if entry.fetched_by == "-":
        return text
    return (f"{text} Where there is internet, `asdbench models fetch {entry.fetched_by or entry.name} "
            f"--dir {expected.parent}` downloads and checks it.")


def resolve(name: str, weights: str | os.PathLike[str] = "", *, component: str = "") -> Path:
    """The weight file a component should read: ``weights`` if given, else the default location.

    Raises an AsdbenchError saying which file to put where, and where to download it, when it is missing;
    ``component`` names who needs it there (default: ``name``, for a component named as its weight file).
    """
    entry = weight_file(name)
    who = component or repr(name)
    if weights:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise AsdbenchError(f"{who}: weights file {path} (the `weights` option) does not "
                                f"exist. {instructions(entry, path)}")
        return path
    path = models_dir() / entry.filename
    if not path.is_file():
        raise AsdbenchError(f"{who} needs the pretrained weights file {entry.filename}, which is "
                            f"not at {path}. {instructions(entry, path)}")
    return path


def digest(path: Path, algorithm: str) -> str:
    """The file's checksum by ``algorithm`` ("md5", "sha256", or "git-blob-sha1" as ``git hash-object``)."""
    if algorithm == "git-blob-sha1":
        hasher = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    elif algorithm in ("md5", "sha256"):
        hasher = hashlib.new(algorithm)
    else:
        raise AsdbenchError(f"unknown checksum algorithm {algorithm!r}")
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def is_published(path: Path, name: str) -> bool:
    """Whether ``path`` holds exactly the published bytes of weight file ``name`` (never, without a checksum)."""
    entry = weight_file(name)
    return entry.algorithm != "none" and digest(path, entry.algorithm) == entry.checksum


def fetch(name: str, dest_dir: str | os.PathLike[str], *, timeout: float = 60.0) -> Path:
    """Download weight file ``name`` into ``dest_dir`` and check its checksum; returns its path.

    A file already there with the right checksum is kept. The download goes to a temporary name and is renamed
    into place only once its checksum matches, so an interrupted or corrupted download never looks finished.
    """
    entry = weight_file(name)
    target = Path(dest_dir).expanduser() / entry.filename
    if target.is_file() and (entry.algorithm == "none" or is_published(target, name)):
        return target
    with atomic_path(target) as temporary:
        try:
            with urllib.request.urlopen(entry.url, timeout=timeout) as response, open(temporary, "wb") as out:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
        except OSError as exc:  # URLError, HTTPError and socket errors are all OSErrors
            raise AsdbenchError(f"could not download {entry.url}: {exc}. {instructions(entry, target)}") from None
        if entry.algorithm == "none":
            warnings.warn(f"{entry.filename}: {entry.checksum_text}, so the download of {entry.url} is unchecked; "
                          f"its SHA-256 is {digest(temporary, 'sha256')}", stacklevel=2)
            return target
        found = digest(temporary, entry.algorithm)
        if found != entry.checksum:
            raise AsdbenchError(f"the download of {entry.url} has {LABELS[entry.algorithm]} {found}, but the "
                                f"published file has {entry.checksum}; nothing was saved to {target}")
    return target
