"""Benchmarks (`make bench`): each reports its figure against a bare baseline measured in the same
run, because these machines are shared and absolute times are noise."""
