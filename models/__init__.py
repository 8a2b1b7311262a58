"""Encoders, critics and losses shared by the sims."""
