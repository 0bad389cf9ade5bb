"""Production serving (docs/deployment.md): the topology `make serve` runs, and what every
process exposes to operators — /healthz, /readyz and /metrics."""
