"""A transactional outbox for Celery tasks.

Work queued after a change is first written as a row in the change's own transaction, then sent to the
broker once that transaction commits. If the broker is down the row waits and the relay (a beat task every
30 s, the worker's start-up, `manage.py relay_outbox`) sends it later: the change's request still succeeds,
and its follow-up work is never lost. Use `salesops.outbox.services.enqueue`.
"""
