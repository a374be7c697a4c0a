"""Use cases that the dashboard and the command line call: permission checks and audit live here."""
