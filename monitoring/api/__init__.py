"""REST endpoints of monitoring: bulk metric ingestion, metric aggregates, usage summary."""
