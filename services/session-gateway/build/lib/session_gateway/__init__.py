"""CWMP session gateway: stateless HTTP front of the ACS."""
