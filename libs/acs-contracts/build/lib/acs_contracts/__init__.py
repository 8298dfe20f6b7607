"""Contracts shared by the ACS services (topics, collections, ids). No I/O here."""
