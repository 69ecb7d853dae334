"""Kaldi data directories: tables, validation, repair, audio input."""
