"""The kernel: pure helpers every app needs, written once, below every app.

Plain Python only: it imports neither Django, Celery nor any app (nor salesops.org); an import-linter
contract in pyproject.toml keeps it so. What it holds (docs/architecture.md, "The kernel"):
- `fiscal`: fiscal periods (labels, the bounds of a month, quarter or year, the period of a day, the
  periods of a range) for a fiscal year starting in any month;
- `crm_ids`: a Salesforce record id in its 15- or 18-character form as one record;
- `dates`: the date rule (the days any input may name; an end past it is no end);
- `money`: the one money parser and the pure parts of money, percent and file-size formatting;
- `trees`: walks of the reports-to tree from a parent map (subtree, ancestors, depth-first order);
- `locks`: stable 64-bit Postgres advisory-lock keys from a name and an optional scope;
- `coalesce`: ids coalesced per transaction and queued once on commit (the registrar is passed in).
"""
