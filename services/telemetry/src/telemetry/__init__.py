"""Device monitoring: TR-232 Bulk Data collector, KPI history writer, alarm evaluator (docs/monitoring.md)."""
