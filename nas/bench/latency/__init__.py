"""Latency of a space's ops and architectures (issue 30): measured in place on a device and
setting (timing, measure), kept as a lookup table per op (lut), predicted and judged
(predictor), surveyed into table-format benchmarking files (survey). docs/latency.md."""
from nas.bench.latency.lut import LatencyTable, load_latency_table
from nas.bench.latency.timing import LatencyError, Setting

__all__ = ["LatencyTable", "load_latency_table", "LatencyError", "Setting"]
