"""helsegraf: one GraphQL graph over Norway's health-sector base registers."""

__version__ = "0.1.0"
