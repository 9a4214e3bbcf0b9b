"""timebank: composition of the ledger, its projections and the HTTP API."""
