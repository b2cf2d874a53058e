"""Benchmarks: each module is run as ``python -m benchmarks.NAME`` from the repository root
(``--quick`` for the reduced form the tests run); figures go to ``benchmarks/results/``."""
