"""The balances view: accounts, postings, statements, redemptions awaiting hand-out."""
