"""The opportunity model's form: stored in a policy, worth of open deals, and the stored
coefficients reproduce the fitted (calibrated) scikit-learn model."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.crm_history import generate_crm

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.errors import PolicyInvalid
from dtem.domain.opportunity_model import OpportunityModel, opportunity_worth
from dtem.domain.policy import Policy
from dtem.services.training.dataset import load_history
from dtem.services.training.opportunity_fit import Design, fit_opportunity_model, probabilities
from dtem.services.training.opportunity_rows import opportunity_rows

PRIOR = (2.0, 8.0)


def test_a_policy_keeps_its_opportunity_model_and_refuses_a_malformed_one():
    model = OpportunityModel(-1.0, {"proposal": 0.5}, {"analytics": 0.2}, w_age=0.3)
    policy = Policy(opportunity_model=model)
    assert Policy.from_dict(policy.to_dict()).opportunity_model == model
    with pytest.raises(PolicyInvalid, match=r"opportunity_model\.b0 must be a number"):
        Policy.from_dict({"opportunity_model": {"b0": "high"}})


def test_the_published_policy_schema_accepts_a_trained_opportunity_model():
    import jsonschema

    from dtem.services.policy_schema import policy_schema

    doc = Policy(opportunity_model=OpportunityModel(-1.0, {"proposal": 0.5})).to_dict()
    validator = jsonschema.Draft202012Validator(policy_schema())
    assert list(validator.iter_errors(doc)) == []
    doc["opportunity_model"]["w_typo"] = 1.0
    assert list(validator.iter_errors(doc))  # unknown keys are refused inside it too


@given(deals=st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(1.0, 1e6)), min_size=1,
                      max_size=6))  # fmt: skip
def test_the_worth_of_open_deals_is_the_sum_of_p_times_amount(deals):
    p, value = opportunity_worth([d[0] for d in deals], [d[1] for d in deals])
    assert 0.0 <= p <= 1.0
    assert p * value == pytest.approx(sum(a * b for a, b in deals), rel=1e-9, abs=1e-9)
    assert p >= max(d[0] for d in deals) - 1e-12  # at least one is won: no less than the best


def test_stored_coefficients_reproduce_the_calibrated_fit():
    from sklearn.linear_model import LogisticRegression

    ledger = MemoryLedger()
    generate_crm(ledger, seed=5, n_accounts=300)
    policy = Policy()
    with ledger.transaction() as tx:
        h = load_history(tx, date(2025, 12, 31), policy.won_stages)
    rows = opportunity_rows(h, policy, list(policy.signal_types), date(2025, 8, 15), 45)
    fitted = fit_opportunity_model(rows, PRIOR)
    design = Design.of(rows, PRIOR)
    x = design.matrix(rows)
    raw = LogisticRegression(C=1.0, max_iter=5000).fit(x, rows.labels)
    slope, offset = fitted.platt
    expected = 1.0 / (1.0 + np.exp(-(slope * raw.decision_function(x) + offset)))
    got = probabilities(fitted.stored, rows, PRIOR)
    assert np.max(np.abs(got - expected)) < 1e-4  # coefficients are stored to 6 decimals
