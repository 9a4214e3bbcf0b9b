"""The audit view: the trail of every volunteer, activity and redemption."""
