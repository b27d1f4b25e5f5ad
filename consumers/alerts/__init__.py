"""Alerts a person sees: records of the alert-carrying topics and worker health, to webhooks.

Design: a dedicated consumer (`primestream alerts run`), not a queue inside the worker.
It reads `alerts`, `risk.control` and `orders.events` (read_committed) in its own consumer
group, turns each record into a `Notice` (`notices`), posts it to every configured webhook
(`delivery`, retried with exponential backoff) and commits the record's offset only after
every webhook took it or gave up: delivery is at-least-once, a dispatcher that is stopped
or killed mid-retry delivers again on restart. The trading loop never sees any of this: it
only writes its topics as before, so a webhook that is down or slow cannot slow or stop it.
Between records the dispatcher checks the worker group's readiness and lag (`health`).
"""
