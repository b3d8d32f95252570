"""Scheduled jobs: work that is due because of the clock, not because of a webhook.

Each scheduled job will be a pure question asked of intake ("what is due at `now`?") plus
a side effect applied with an idempotency key (case, kind, day), so that running it twice,
or on two machines, acts once. The scheduler that calls them (RQ's cron or `dutyline sweep`)
comes with the lifecycle issue; the jobs are enqueued through jobs.queue.JobQueue like the
others. Nothing is scheduled yet.
"""
