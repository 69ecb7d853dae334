"""CTC-CRF loss for PyTorch.

The denominator-graph tools, the C++ CPU kernel, the CUDA kernel and the Python
API (`DenGraph`, `CTCCRFLoss`, `den_log_partition`) arrive with the CTC-CRF issue.
Until then this package holds nothing but its version, so that the layout and
the install (setup.py maps `src/ctc_crf` to this package) are in place.
"""

__version__ = "0.0.0"
