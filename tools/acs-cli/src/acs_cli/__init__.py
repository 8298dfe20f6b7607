"""acs: the operator command line of the ACS, over its GenieACS-compatible northbound API."""

__version__ = "0.1.0"
