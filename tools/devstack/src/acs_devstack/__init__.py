"""Local stack for development, tests and benchmarks (never used in production)."""
