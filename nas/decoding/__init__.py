"""Decoding network outputs: greedy CTC, WFST beam search over TLG, error rates and scoring."""
