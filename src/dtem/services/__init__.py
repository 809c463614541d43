"""Use cases. Each takes its dependencies (ledger, clock, policy) as arguments."""
