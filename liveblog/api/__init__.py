"""The HTTP surface: FastAPI routers, authentication, problem+json, limits."""
