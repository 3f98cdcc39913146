"""Statistics: the bootstrap over prompts, paired tests and corrections, the
seeding rule for order independence, and the one entropy / Hill-number
implementation used by every metric."""
