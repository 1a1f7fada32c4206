"""The deterministic engine: virtual time, the event heap, network, disks, trace, journal.

It knows nothing of checkers or pictures: observers (such as the safety checkers)
attach through the narrow hook in `sim.engine.observer`.
"""
