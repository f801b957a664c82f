"""Simulator internals: configuration model, log envelope, generated scenarios (see diagnose.simulator)."""
