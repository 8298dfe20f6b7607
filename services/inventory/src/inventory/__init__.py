"""Inventory service: device inventory in MongoDB, the GenieACS-compatible northbound API (NBI),
connection requests to CPEs, and the file server CPEs download firmware from."""
