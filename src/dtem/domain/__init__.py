"""The pure model: entities, policy, scoring math, lease rules. Stdlib and numpy only."""
