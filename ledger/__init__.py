"""The timebank domain: aggregates, events, rules and the application service."""
