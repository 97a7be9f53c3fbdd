"""Names of the user attrs the sweeper writes on each trial (read back by the results table)."""

WORKER_ATTR = "worker"
FAIL_REASON_ATTR = "fail_reason"
PRUNED_AT_ATTR = "pruned_at_step"
PRUNE_REASON_ATTR = "prune_reason"
JOB_DIR_ATTR = "job_dir"
OVERRIDES_ATTR = "overrides"
OBJECTIVES_ATTR = "objectives"
RETRY_OF_ATTR = "retry_of"
SKIPPED_ATTR = "skipped"
# the problem fingerprint of the sweep that ran the trial (loralab.sweeps.identity)
FINGERPRINT_ATTR = "fingerprint"
