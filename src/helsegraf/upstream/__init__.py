"""Faithful fakes of the registers' services: the synthetic nation served through their real contracts."""
