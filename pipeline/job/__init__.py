"""Run the stages over many files: plan a day, generate, validate, write, report.

Enters: paths, a provider, a validator, a cache and the run's options.
Leaves: repaired digests on disk (or copies, or a diff) and a ``RunReport`` with one
outcome per paper, per file and in total, from which the exit code is derived.
"""
