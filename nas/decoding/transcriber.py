"""A trained model and a decoding graph, put together to turn audio files into words.

What a data dir and a recipe stage would supply is looked up from the model dir instead: the
fbank config its training features were made with (the training data dir's stage-2 record), the
LM weight stage 8 chose on the dev set (RESULTS, or decode_dev/best_wer), and the lang dir whose
tokens it was trained on, so that a graph over other units is refused before anything is decoded.
Paths in those records are relative to the recipe dir the stages ran in, which is the first
ancestor of the model dir where they exist.
"""
from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from nas.data.table import TableError
from nas.decoding.logprobs import num_outputs
from nas.decoding.wfst import DecoderConfig, WfstDecoder, load_graph
from nas.features.fbank import FbankConfig
from nas.features.pipeline import FeaturePipeline
from nas.features.recording import load_recording, network_input
from nas.lang.symbols import invert, read_symbols
from nas.models.arch import read_arch
from nas.stamps import file_digest
from nas.train.checkpoint import CheckpointError, load_checkpoint

DEFAULT_LMWT = 1.0
_RESULTS_LINE = re.compile(r"WER at LM weight ([0-9.]+) \(best on (\S+)\)")


class SetupError(ValueError):
    """A model dir, graph or option that cannot be used; the message names the files."""


def find_graph(path: Path) -> Path:
    """The dir holding TLG.fst: `path` itself (a graph dir) or `path`/graph (a lang dir)."""
    for d in (path, path / "graph"):
        if (d / "TLG.fst").is_file():
            for f in ("words.txt", "tokens.txt"):
                if not (d / f).is_file():
                    raise SetupError(f"no such file: {d / f} (utils/mkgraph.sh writes it beside TLG.fst)")
            return d
    raise SetupError(f"{path}: no TLG.fst in it or in {path / 'graph'} (give a graph dir made by utils/mkgraph.sh, "
                     f"or a lang dir holding one)")


def recipe_file(model_dir: Path, rel: str) -> Optional[Tuple[Path, Path]]:
    """(the path, the dir it was relative to) of a path a stage recorded: absolute, or relative to
    the first ancestor of `model_dir` where it exists (the recipe dir); None if nowhere."""
    if Path(rel).is_absolute():
        return (Path(rel), Path("/")) if Path(rel).exists() else None
    for base in model_dir.resolve().parents:
        if (base / rel).exists():
            return base / rel, base
    return None


@dataclass
class Stage8:
    """What stage 8 chose for this model: the LM weight best on the dev set and the search options
    it decoded with (None where the model dir does not say)."""
    lmwt: Optional[float] = None
    lmwt_from: str = ""
    search: Dict[str, float] = field(default_factory=dict)     # beam, max_active, acwt
    search_from: str = ""


def _decode_options(decode_opts: str) -> Dict[str, float]:
    """--beam, --max-active and --acwt out of a steps/decode.sh option string."""
    try:
        words = shlex.split(decode_opts)
    except ValueError:              # unbalanced quotes: the plain words will do for these options
        words = decode_opts.split()
    out: Dict[str, float] = {}
    for i, w in enumerate(words):
        name, eq, value = w.partition("=")
        if not eq:
            value = words[i + 1] if i + 1 < len(words) else ""
        key = {"--beam": "beam", "--max-active": "max_active", "--acwt": "acwt"}.get(name)
        if key:
            try:
                out[key] = int(value) if key == "max_active" else float(value)
            except ValueError:
                pass
    return out


def stage8_choices(model_dir: Path) -> Stage8:
    """The LM weight of MODEL_DIR/RESULTS' first line (steps/report_wer.sh: 'WER at LM weight W (best
    on DEV)'; with several graphs, the first pass's) or of decode_dev/best_wer, and the beam of
    DEV's decoding, from its .inputs.json record."""
    out, dev = Stage8(), "dev"
    results = model_dir / "RESULTS"
    m = _RESULTS_LINE.search(results.read_text(encoding="utf-8", errors="replace")) if results.is_file() else None
    if m:
        out.lmwt, out.lmwt_from, dev = float(m.group(1)), f"best on {m.group(2)}: {results}", m.group(2)
    else:
        best = model_dir / "decode_dev" / "best_wer"
        m = re.search(r"/wer_([0-9.]+)\s*$", best.read_text(errors="replace")) if best.is_file() else None
        if m:
            out.lmwt, out.lmwt_from = float(m.group(1)), f"best on dev: {best}"
    # decode_<dev>, or a tagged decode_<dev>_<graph> (egs/wsj: decode_test_dev93_tgpr)
    records = [model_dir / f"decode_{dev}" / ".inputs.json", *sorted(model_dir.glob(f"decode_{dev}_*/.inputs.json"))]
    record = next((r for r in records if r.is_file()), records[0])
    try:
        values = json.loads(record.read_text())["values"] if record.is_file() else {}
        # steps/nas_decode.sh records "options": "<decode opts> <lm weights> | <score cmd> | <greedy>";
        # the older stage 8 of egs/synth "decode_opts"
        opts = values.get("options", values.get("decode_opts"))
    except (ValueError, KeyError, TypeError, AttributeError):
        opts = None
    if isinstance(opts, str):
        out.search = _decode_options(opts.split("|")[0])
        out.search_from = f"from {record}" if out.search else ""
    return out


def training_fbank_config(model_dir: Path, config: Dict) -> Tuple[Path, str]:
    """The fbank config of the model's training features: the one steps/make_features.sh recorded
    in the training data dir's .inputs_fbank.json; a note says when it has changed since."""
    data = config.get("data")
    found = recipe_file(model_dir, data) if isinstance(data, str) else None
    record = found[0] / ".inputs_fbank.json" if found else None
    if record is None or not record.is_file():
        raise SetupError(f"{model_dir}: cannot tell which fbank config its training features were made with (no "
                         f"{data}/.inputs_fbank.json found above it); give --fbank-config")
    try:
        entry = json.loads(record.read_text())["paths"]["fbank_config"]
        rel, digest = entry["path"], entry.get("digest")
    except (ValueError, KeyError, TypeError) as e:
        raise SetupError(f"{record}: no fbank_config entry ({e}); give --fbank-config") from None
    conf = Path(rel) if Path(rel).is_absolute() else found[1] / rel
    if not conf.is_file():
        raise SetupError(f"{record} names the fbank config {rel}, which is not at {conf}; give --fbank-config")
    note = f"{conf} (from {record})"
    if digest and file_digest(conf) != digest:
        note += "; WARNING: it has changed since the training features were made"
    return conf, note


@dataclass
class Transcript:
    path: str
    words: List[str]
    seconds: float          # audio
    decode_s: float         # reading, features, network and search
    notes: List[str] = field(default_factory=list)
    reached_final: bool = True

    @property
    def rtf(self) -> float:
        """Real-time factor: processing seconds per audio second."""
        return self.decode_s / self.seconds if self.seconds else 0.0


class Transcriber:
    """One model, one graph, one LM weight; `transcribe(path)` per file."""

    def __init__(self, model_dir: Path, graph_dir: Path, fbank: FbankConfig, lmwt: float,
                 decoder: DecoderConfig, cmvn_stats: Optional[np.ndarray] = None, checkpoint: str = "best.pt",
                 device: str = "cpu", config: Optional[Dict] = None) -> None:
        """Load and check everything once (SetupError names what does not fit), so that each file
        costs only its own features, network pass and search."""
        self.graph_dir = find_graph(graph_dir)
        self.fbank, self.lmwt, self.cmvn, self.device = fbank, lmwt, cmvn_stats, device
        self.words = invert(read_symbols(self.graph_dir / "words.txt"))
        self.net, self.pipeline = self._load_model(model_dir, checkpoint, config or {})
        if cmvn_stats is not None and cmvn_stats.shape[1] != fbank.dim + 1:
            raise SetupError(f"--cmvn: statistics of {cmvn_stats.shape[1] - 1}-dim features; the fbank config "
                             f"gives {fbank.dim}")
        self.decoder = WfstDecoder(load_graph(str(self.graph_dir / "TLG.fst")), decoder)

    def _load_model(self, model_dir: Path, checkpoint: str, config: Dict) -> Tuple[torch.nn.Module, FeaturePipeline]:
        """The network, checked against the graph's tokens and the fbank config before any decoding
        (`config`: the training stage's config.json; the checkpoint's own copy comes first)."""
        ckpt = model_dir / checkpoint
        try:
            arch = read_arch(model_dir / "arch.json")
            state = load_checkpoint(ckpt)
        except (CheckpointError, ValueError) as e:
            raise SetupError(str(e)) from None
        pipeline = arch.pipeline()
        tokens_txt = self.graph_dir / "tokens.txt"
        outputs = num_outputs(read_symbols(tokens_txt))
        dims = state.get("dims") or {}
        if dims.get("outputs", outputs) != outputs:
            raise SetupError(f"{ckpt} has {dims['outputs']} outputs (blank + {dims['outputs'] - 1} units) but "
                             f"{tokens_txt} has {outputs} (blank + {outputs - 1}): the graph is over other units; "
                             f"build it from the model's lang dir (utils/prepare_lang_ctc.sh --tokens)")
        self._check_tokens(model_dir, {**config, **(state.get("config") or {})}, tokens_txt)
        input_dim = pipeline.output_dim(self.fbank.dim)
        if dims.get("input", input_dim) != input_dim:
            raise SetupError(f"{ckpt} takes {dims['input']}-dim input; the fbank config gives {self.fbank.dim} "
                             f"dims, {input_dim} with the model's deltas: give the fbank config it was trained with")
        net = arch.build(input_dim, outputs)
        try:
            net.load_state_dict(state["model"])
        except (RuntimeError, KeyError) as e:
            raise SetupError(f"{ckpt} does not fit {model_dir / 'arch.json'} with input {input_dim} and {outputs} "
                             f"outputs ({tokens_txt}): {e}") from None
        return net.to(self.device).eval(), pipeline

    @staticmethod
    def _check_tokens(model_dir: Path, config: Dict, tokens_txt: Path) -> None:
        """Same count, other units (or another order) would decode silently wrong: compare the
        training lang dir's tokens.txt with the graph's when it can be found."""
        lang = config.get("lang")
        found = recipe_file(model_dir, f"{lang}/tokens.txt") if isinstance(lang, str) else None
        if found is None:
            return
        try:
            same = read_symbols(found[0]) == read_symbols(tokens_txt)
        except TableError as e:
            raise SetupError(str(e)) from None
        if not same:
            raise SetupError(f"{tokens_txt} differs from {found[0]}, the tokens the model was trained on: build "
                             f"the graph over the model's tokens (utils/prepare_lang_ctc.sh --tokens {found[0]})")

    def transcribe(self, path: str) -> Transcript:
        """Words of one file at the LM weight; AudioError (or ValueError) when it cannot be read."""
        t0 = time.perf_counter()
        rec = load_recording(path, int(round(self.fbank.sample_frequency)))
        x = torch.from_numpy(network_input(rec, self.fbank, self.pipeline, self.cmvn)).unsqueeze(0)
        with torch.no_grad():
            log_probs, _ = self.net(x.to(self.device), torch.tensor([x.shape[1]], device=self.device))
        hyp = self.decoder.decode(log_probs[0].float().cpu().numpy(), [self.lmwt])[self.lmwt]
        words = [self.words.get(i, f"<id {i}>") for i in hyp.words]
        return Transcript(path, words, rec.seconds, time.perf_counter() - t0, rec.notes, hyp.reached_final)
