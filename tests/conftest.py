"""Fixtures shared by the repository-level tests (tests/e2e, tests/ui, ...) live in their own
folders' conftest.py; the shared reference folder is resolved by acs_devstack.shared."""
