"""Dynamic compensation: comp plans, commission lines on won leased deals, statements.

`plans` stores and schedules plan versions, `commissions` writes lines when a leased
account's opportunity is won (and adjustments when a deal changes later), `statements`
reads a rep's period and closes periods, `simulate` re-prices won deals under another plan.
"""
