"""CWMP task scheduler: the owner of each device's session state."""
