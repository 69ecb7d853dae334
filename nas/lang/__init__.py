"""Lexicons, units and lang dirs; the L, T, G and TLG FSTs for WFST decoding."""
