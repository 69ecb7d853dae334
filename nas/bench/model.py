"""NAS-Bench-ASR models in this toolkit's engine: an arch vector as an nb_asr single model, and
its parameter count in this toolkit's convention and in the benchmark's published one.

The published counts (the benchmark's static table, e.g. 26,338,848 for [[1,0],[1,0,0],[1,0,0,0]])
are those of the released TensorFlow model with 48 outputs: Keras' LSTM has one bias vector per
gate where torch's has two, and the published figures imply 48 output units where the released
code builds 48 + 1. `params_tf` counts our model that way; `params_torch` is the model this
toolkit trains (80 features in, 48 phones + blank out).
"""
from __future__ import annotations

from typing import Dict, Sequence, Union

import torch

from nas.bench.archvec import to_choices
from nas.models.space import SearchSpace, load_space
from nas.models.supernet import SuperNet

INPUT_DIM = 80          # log-mel filterbanks
NUM_TOKENS = 49         # 48 phones + blank, what the benchmark's models are trained on
PUBLISHED_OUTPUTS = 48  # the output units the published parameter counts imply


def build_model(vec: Sequence[Sequence[int]], space: Union[str, SearchSpace] = "nb_asr",
                input_dim: int = INPUT_DIM, num_tokens: int = NUM_TOKENS,
                device: Union[str, torch.device] = "cpu") -> SuperNet:
    """The single model of `vec` in an nb_asr space (device "meta": shapes only, no memory)."""
    space = load_space(space, verbose=False) if isinstance(space, str) else space
    with torch.device(device):
        return SuperNet(space, input_dim, num_tokens, arch=to_choices(vec, space.blocks))


def param_counts(vec: Sequence[Sequence[int]], space: Union[str, SearchSpace] = "nb_asr",
                 input_dim: int = INPUT_DIM) -> Dict[str, int]:
    """{"torch": this toolkit's count, "tf": the benchmark's published convention}."""
    space = load_space(space, verbose=False) if isinstance(space, str) else space
    ours = build_model(vec, space, input_dim, NUM_TOKENS, device="meta")
    tf = build_model(vec, space, input_dim, PUBLISHED_OUTPUTS, device="meta")
    second_bias = sum(p.numel() for n, p in tf.named_parameters() if n.endswith("bias_hh_l0"))
    return {"torch": sum(p.numel() for p in ours.parameters()),
            "tf": sum(p.numel() for p in tf.parameters()) - second_bias}
