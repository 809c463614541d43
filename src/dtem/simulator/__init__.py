"""The market simulator: one hidden market, run under static territories and under DTEM.

The DTEM policy drives the product's own services (signal pipeline, routing, leases, the
daily review and rebalance, the agent gateway, comp) on a real ledger; nothing of them is
copied here. See docs/simulator.md for the model and the figures its defaults rest on.
"""
