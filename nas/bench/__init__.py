"""NAS-Bench-ASR (Mehrotra et al., ICLR 2021): its arch vectors, its model hash, benchmark tables
in its pickle format, and tabular search methods over them (docs/bench.md)."""
