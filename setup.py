"""Install the `nas` toolkit package and the `ctc_crf` package from src/ctc_crf.

The compiled CTC-CRF kernels join `ctc_crf` with the CTC-CRF issue; until then
`ctc_crf` is pure Python and this file builds no extension.
"""
from setuptools import find_packages, setup

setup(
    name="st-nas-asr",
    version="0.1.0",
    description="Neural architecture search for end-to-end ASR (ST-NAS) with Kaldi-style recipes",
    python_requires=">=3.9",
    packages=find_packages(include=["nas", "nas.*"]) + ["ctc_crf"],
    package_dir={"ctc_crf": "src/ctc_crf"},
    install_requires=[
        "torch>=2.1",  # installed first by `make`, pinned there; satisfied here, never pulled
        "numpy",
        "kaldiio>=2.18",
        "kaldi-native-fbank>=1.20",
        "soundfile>=0.12",
        "desphere[fast]>=0.1.1",
    ],
    extras_require={"test": ["pytest>=7"]},
    entry_points={
        "console_scripts": [
            "sph2pipe = nas.bin.sph2pipe:main",
        ],
    },
)
