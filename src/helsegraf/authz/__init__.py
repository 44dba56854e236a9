"""Authorisation: principals, scopes, role presets, field requirements, the guard and the access log."""
