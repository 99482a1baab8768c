"""Signals in the admin: each area registers its models read-only where money or history is involved."""
