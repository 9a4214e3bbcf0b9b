"""Benchmarks (`timebank bench`)."""
