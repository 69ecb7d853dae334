"""nas.bench.points: one format for fractions shown as points with their intervals."""
import math

from nas.bench.points import pts, with_interval


def test_points_with_and_without_an_interval():
    assert pts(0.31234) == "31.23" and pts(-0.0078, signed=True) == "-0.78" and pts(0.0012, signed=True) == "+0.12"
    assert pts(None) == "-" and pts(math.nan) == "-"
    assert with_interval(0.3123, 0.3101, 0.315) == "31.23 [31.01, 31.50]"
    assert with_interval(-0.0078, -0.012, -0.003, signed=True) == "-0.78 [-1.20, -0.30]"
    assert with_interval(0.32, math.nan, math.nan) == "32.00"          # no "[nan, nan]" where none is defined
