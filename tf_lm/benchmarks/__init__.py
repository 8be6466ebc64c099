"""Benchmarks (`tf-lm bench`): speed against a peer measured in the same process.

Every comparison runs both sides in one process, after a warm-up whose compile time is
reported apart, and reports the median of several repetitions, so machine drift cancels in
the ratio. Benchmarks are not tests: the test suite only checks that they run and report
their documented keys.
"""
