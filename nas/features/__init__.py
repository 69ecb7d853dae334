"""Acoustic features: fbank from Kaldi option files, CMVN statistics, the training/inference pipeline."""
