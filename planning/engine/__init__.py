"""The planning engines: plain Python over plain data, no ORM (territory assignment, capacity, quota
allocation, stress test). `planning.services` loads and saves around them; `manage.py plan_quotas` runs them
on a JSON scenario without touching any data."""
