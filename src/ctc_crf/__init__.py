"""CTC-CRF loss for PyTorch (CAT's formulation), on CPU and GPU.

- `DenGraph.from_file(path)`: the denominator graph (T o P, OpenFst binary), loaded once.
- `CTCCRFLoss(den_graph, lamb, reduction, zero_infinity)`: the loss module.
- `den_log_partition(den_graph, log_probs, input_lengths)`: log Z per utterance.
- `den_log_partition_reference`: the same in plain PyTorch, for reading and testing.

The compiled kernels (`ctc_crf._den_cpu`, and `ctc_crf._den_cuda` in a CUDA build)
are used when present; `has_kernel(device)` tells.
"""

from ctc_crf.graph import DenGraph, DenGraphError
from ctc_crf.loss import CTCCRFLoss, den_log_partition, has_kernel
from ctc_crf.reference import den_log_partition_reference

__all__ = ["DenGraph", "DenGraphError", "CTCCRFLoss", "den_log_partition", "den_log_partition_reference",
           "has_kernel"]
__version__ = "0.1.0"
