"""Graphs: the CTC topology and the CTC-CRF denominator graph (T o P)."""
