"""Request and response bodies of the v1 contract, one module per area of routes
(api/routes/<area>.py) beside the shared types (common.py)."""
