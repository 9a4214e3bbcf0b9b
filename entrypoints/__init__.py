"""The ways in: the `timebank` command line, the HTTP worker processes and their supervisor,
and the demo town. They compose the runtime (timebank) and the API (api); nothing imports
them back."""
