"""Suite-wide settings: property tests draw the same examples on every run and machine."""

from hypothesis import settings

settings.register_profile("rolegraph", derandomize=True, database=None, deadline=None)
settings.load_profile("rolegraph")
