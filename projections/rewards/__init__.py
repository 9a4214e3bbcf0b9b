"""The rewards view: each venue's rewards with the stock left."""
