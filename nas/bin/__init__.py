"""Command-line entry points called by steps/ and utils/ (run as `python -m nas.bin.<name>`)."""
