"""The use cases: each command loads what it needs through a unit of work, applies the rules
of the domain and returns its result; the engine saves what it changed. By area: members,
attendance, exchange, corrections, recognition; crediting is shared; permissions says who
may do and read what."""
