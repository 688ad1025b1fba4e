"""BatchNorm2d whose batch statistics keep float32's accuracy in channels-last tensors on the CPU.

torch 2.13's CPU kernel for channels-last batch norm loses float32's accuracy over the hundreds of thousands of
values per channel of a batch of spectrograms (as sums taken one value after another do): measured against float64
on 64 x 16 x 29 x 561 features, its output was off by 8e-5 of their scale and its weight gradient by 9e-3, where the
contiguous kernel's were off by 1.5e-7 and 2e-5. This layer computes the batch's mean and variance with
``torch.var_mean`` (as accurate in either layout), normalises with the kernel given those statistics (as in
evaluation) and takes the kernel's backward with them: 1.6e-7 and 1.8e-5 in the same measurement, so channels-last
training computes what contiguous training computes to float32 rounding (tests/test_cpu_fast_path.py). Its cost:
``var_mean`` over a channels-last tensor is slow, a seventh of a training step at 18 s tiles (docs/performance.md).
Inside ``torch.func`` transforms (stacked training's vmap), which cannot be asked about channels-last, it is torch's
layer, and whether torch's channels-last kernel then runs depends on how vmap lays the stacked features out (not
measured). Anywhere else (contiguous input, another device, evaluation) it is ``nn.BatchNorm2d`` too. Its
parameters, buffers and state-dict keys are BatchNorm2d's. Plugins get it as ``asdbench.api.BatchNorm2d``: a
network trains channels-last on CUDA by default and on the CPU where ``train.memory_format = "channels_last"``
(asdbench.training.loop.place).
"""

from __future__ import annotations

import torch
from torch import nn


class BatchNorm2d(nn.BatchNorm2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._needs_accurate_statistics(x):
            return super().forward(x)
        self.num_batches_tracked.add_(1)
        output, mean, variance = _AccurateBatchNorm.apply(x, self.weight, self.bias, self.eps)
        with torch.no_grad():  # as nn.BatchNorm2d: momentum-weighted, the variance unbiased
            count = x.numel() // x.shape[1]
            self.running_mean.mul_(1 - self.momentum).add_(mean, alpha=self.momentum)
            self.running_var.mul_(1 - self.momentum).add_(variance * (count / (count - 1)), alpha=self.momentum)
        return output

    def _needs_accurate_statistics(self, x: torch.Tensor) -> bool:
        # vmap cannot be asked about channels-last: its tensors are looked at first
        return (self.training and self.track_running_stats and self.momentum is not None and self.affine
                and not torch._C._functorch.is_batchedtensor(x) and x.device.type == "cpu"
                and x.dtype == torch.float32 and x.dim() == 4 and x.shape[1] > 1
                and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last))


class _AccurateBatchNorm(torch.autograd.Function):
    """Training-mode batch norm over (N, H, W) with the statistics computed outside the kernel."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                eps: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        variance, mean = torch.var_mean(x, dim=(0, 2, 3), unbiased=False)
        inverse_std = torch.rsqrt(variance + eps)
        output = torch.batch_norm(x, weight, bias, mean, variance, False, 0.0, eps, False)
        ctx.save_for_backward(x, weight, mean, inverse_std)
        ctx.eps = eps
        ctx.mark_non_differentiable(mean, variance)
        return output, mean, variance

    @staticmethod
    def backward(ctx, output_grad: torch.Tensor, *_: torch.Tensor):
        x, weight, mean, inverse_std = ctx.saved_tensors
        x_grad, weight_grad, bias_grad = torch.ops.aten.native_batch_norm_backward(
            output_grad, x, weight, None, None, mean, inverse_std, True, ctx.eps,
            [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[2]])
        return x_grad, weight_grad, bias_grad, None
