"""Corpora, each with its own command (`python -m nas.corpora.NAME`): wsj, swbd, timit, librispeech; ldc: LDC helpers."""
