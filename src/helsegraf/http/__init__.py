"""The HTTP layer: the Starlette app serving /graphql, health, readiness and metrics."""
