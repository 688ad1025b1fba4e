"""Peak dense FLOP/s of the GPUs gpu_check knows, from the vendor's datasheets, to say how far a training step is
from the hardware.

Dense means without 2:4 structured sparsity: NVIDIA's datasheets print the Tensor Core figures with sparsity
(marked "*") and say the dense figures are half of them; those halves are below. FP32 is the CUDA cores' (no Tensor
Cores). Sources:

- H100 SXM, H100 PCIe, H100 NVL: NVIDIA H100 Tensor Core GPU datasheet,
  https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet (FP32 67 / 51 / 60 TFLOPS; TF32
  989 / 756 / 835 and BF16 1,979 / 1,513 / 1,671 TFLOPS with sparsity).
- H200 SXM, H200 NVL: NVIDIA H200 product page and datasheet, https://www.nvidia.com/en-us/data-center/h200/ (FP32
  67 / 60 TFLOPS; TF32 989 / 835 and BF16 1,979 / 1,671 TFLOPS with sparsity).
- A100 (SXM4 and PCIe, 40 and 80 GB: the same figures): NVIDIA A100 datasheet,
  https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf
  (FP32 19.5 TFLOPS; TF32 156 and BF16 312 TFLOPS dense).

Which peak a configuration is measured against: bf16 autocast runs its convolutions and matrix products on the
Tensor Cores in bf16; fp32 runs its convolutions in TF32 while ``torch.backends.cudnn.allow_tf32`` is true (torch's
default, which asdbench keeps) and its matrix products in FP32, and the convolutions are nearly all of the
step's FLOPs, so fp32 is measured against the TF32 peak then, else against FP32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Peaks:
    """Dense peak TFLOP/s of one GPU model."""

    model: str
    fp32: float
    tf32: float
    bf16: float


H100_SXM = Peaks("H100 SXM", 67.0, 494.5, 989.5)
H100_PCIE = Peaks("H100 PCIe", 51.0, 378.0, 756.5)
H100_NVL = Peaks("H100 NVL", 60.0, 417.5, 835.5)
H200_SXM = Peaks("H200 SXM", 67.0, 494.5, 989.5)
H200_NVL = Peaks("H200 NVL", 60.0, 417.5, 835.5)
A100 = Peaks("A100", 19.5, 156.0, 312.0)

NAMED: tuple[tuple[tuple[str, ...], Peaks], ...] = (
    (("H100", "NVL"), H100_NVL),
    (("H100", "PCIE"), H100_PCIE),
    (("H100", "HBM3"), H100_SXM),  # torch names the SXM board "NVIDIA H100 80GB HBM3"
    (("H100", "SXM"), H100_SXM),
    (("H200", "NVL"), H200_NVL),
    (("H200",), H200_SXM),  # "NVIDIA H200": the SXM board
    (("A100",), A100),
)
"""Words of torch's device name (upper case) -> the model, first match wins."""


def peaks_of(device_name: str) -> Peaks | None:
    """The peaks of the GPU torch calls ``device_name``; None for a model not in the table."""
    words = device_name.upper()
    for needed, peaks in NAMED:
        if all(word in words for word in needed):
            return peaks
    return None


def peak_for(peaks: Peaks, precision: str) -> tuple[str, float]:
    """(kind, TFLOP/s) of the peak a training in ``precision`` ("fp32" or "bf16") is measured against."""
    if precision == "bf16":
        return "bf16", peaks.bf16
    if torch.backends.cudnn.allow_tf32:
        return "tf32", peaks.tf32
    return "fp32", peaks.fp32
