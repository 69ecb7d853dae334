"""NAS for end-to-end ASR: data, features, search spaces, strategies, training, graphs, decoding.

Sub-packages are imported on demand; importing `nas` sets nothing up.
"""

__version__ = "0.1.0"
