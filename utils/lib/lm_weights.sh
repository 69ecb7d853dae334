# Sourced by steps/decode.sh and steps/lmrescore.sh: the LM weights a sweep scores, one place.
#   lm_weight_list <min> <max> <step>   prints "min min+step ... max" (%g), or fails on a bad range
lm_weight_list() {
  awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN {
    if (s <= 0 || a <= 0 || b < a) exit 1
    n = int((b - a) / s + 0.5); for (i = 0; i <= n; i++) printf "%s%g", (i ? " " : ""), a + i * s; print "" }'
}
