"""The eval harness: scenario files run on fresh sandboxes through the real engine, scored on
task success and safety (`opsgate eval`; see README, Evals)."""
