"""Checking: safety checkers, client histories, linearizability, simulated clients, fuzzing."""
