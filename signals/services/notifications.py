"""Signals services: the notification centre (bell, list, mark read) and each person's preferences per kind and
channel."""

from __future__ import annotations
