"""The options the training stages share, as dataclass mixins (see nas.options for the mechanism).

Each stage's config (WarmupConfig, SearchConfig, RetrainConfig) is one of these plus its own
fields; an option is written once, as a field with its help, and is then a flag, a config-file
key and an entry of the stage's config.json.
"""
from __future__ import annotations

from dataclasses import dataclass

from nas.features.pipeline import FeaturePipeline
from nas.features.specaug import spec_augment_spec
from nas.options import AT_LEAST_1, FRACTION, NON_NEGATIVE, POSITIVE, Range, option, section

MAX_FRAMES = 4000     # input frames (10 ms): a 30-minute utterance is left out, not trained on in 6 GB


@dataclass
class TrainOptions:
    """Every training stage: data, loss, batches, the weights' optimizer, checkpoints, devices."""
    data: str = option("", "training data dir (feats.scp, cmvn.scp, text)", required=True)
    lang: str = option("", "lang dir (tokens.txt, lexicon_numbers.txt)", required=True)
    valid_data: str = option("", "held-out data dir; empty: a share of --data (--heldout-ratio)")
    heldout_ratio: float = option(0.1, "share of --data held out when --valid-data is not given",
                                 check=FRACTION)
    heldout_by: str = option("speaker", "hold out whole speakers (their perturbed copies too) or utterances",
                             choices=("speaker", "utterance"))
    loss: str = option("ctc", "training loss", choices=("ctc", "ctc-crf"))
    den_dir: str = option("", "stage 3's dir (den_lm.fst, path_weight.txt); needed by ctc-crf")
    lamb: float = option(0.01, "ctc-crf: weight of the added CTC term", check=NON_NEGATIVE)
    batch_size: int = option(128, "utterances per batch and process", check=AT_LEAST_1)
    max_batch_frames: int = option(0, "and at most this many padded frames per batch (0: no cap)",
                                  check=NON_NEGATIVE)
    max_frames: int = option(MAX_FRAMES, "leave out training utterances of more input frames than this, listed in "
                                         "dropped.txt (0: keep all; the default, 40 s at 10 ms, keeps LibriSpeech's "
                                         "35 s at speed 0.9)", check=NON_NEGATIVE)
    lr: float = option(1e-3, "Adam learning rate of the weights", check=POSITIVE)
    adam_eps: float = option(1e-8, "Adam epsilon of the weights' optimizer (NAS-Bench-ASR: 1e-7, TensorFlow's default)",
                            check=POSITIVE)
    loss_norm: str = option("utterance", "the loss per utterance, or per utterance divided by its output frames "
                                         "(NAS-Bench-ASR), before the mean over the batch", choices=("utterance", "frames"))
    grad_clip: float = option(0.0, "clip the global norm of the weights' gradient to this (0: off)",
                              check=NON_NEGATIVE)
    spec_augment: str = option("", "SpecAugment masks on training batches, never on held-out ones: off (empty), on "
                                   "(2 frequency masks of up to 10 bins of each feature block, 2 time masks of up to "
                                   "0.05 of the frames and 40 at most) or KEY=VALUE,... of freq_masks, freq_width, "
                                   "time_masks, time_width, time_max (nas.features.specaug)", type=spec_augment_spec)
    max_epochs: int = option(100, "epoch cap", check=AT_LEAST_1)
    seed: int = option(0, "random seed (initialization, batch order, sampling)")
    num_workers: int = option(0, "data loading processes", check=NON_NEGATIVE)
    checkpoint_every: int = option(200, "steps between mid-epoch checkpoints (0: epoch ends only)",
                                    check=NON_NEGATIVE)
    device: str = option("auto", "auto (cuda when there is one), cpu or cuda")
    dtype: str = option("fp32", "the network's forward precision: bf16 runs it under autocast in bfloat16 "
                                "(weights, optimizer and loss stay float32)", choices=("fp32", "bf16"))
    deterministic: bool = option(False, "torch.use_deterministic_algorithms")
    tensorboard: bool = option(True, "write TensorBoard scalars")
    plots: bool = option(True, "write PNG plots")
    resume: bool = option(False, "continue from checkpoint.pt")
    overwrite: bool = option(False, "replace a finished stage")
    redo_changed: bool = option(False, "reuse the exp dir only if made from this run's inputs (inputs.json): "
                                       "skip a finished stage, resume an unfinished one; else start afresh, "
                                       "saying what changed (the recipes pass true)")


@dataclass
class PlateauOptions:
    """A held-out plateau decays the lr; the stage stops once it falls below stop_lr."""
    lr_decay: float = option(0.1, "lr factor on a plateau", check=Range(0, 1, lo_open=True))
    plateau_epochs: int = option(3, "epochs without held-out improvement before a decay",
                                 check=AT_LEAST_1)
    stop_lr: float = option(1e-4, "stop once the lr falls below this (0: never)", check=NON_NEGATIVE)


@dataclass
class SpaceParamsOption:
    """Width and depth of a parametric space (nb_asr's), set per stage."""
    space_params: str = option("", "override the space's params, NAME=VALUE,... with JSON values, e.g. "
                                   "width=0.5,cells=[1,1,1,1] (see the space's \"params\")")


@dataclass
class SpaceOptions(SpaceParamsOption):
    """The super-network stages: the search space and the input features."""
    space: str = option("wsj", "search space: a shipped name (nas/spaces/) or a JSON file")
    features: FeaturePipeline = section(FeaturePipeline)
