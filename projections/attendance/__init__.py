"""The attendance view: check-ins awaiting their check-out."""
