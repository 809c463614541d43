"""`dtem train`: fit the propensity model on the ledger's history; store it, not active."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from dtem.domain.errors import ArgumentInvalid
from dtem.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    handle_errors,
    open_ledger,
    print_json,
    styled,
)
from dtem.services import governance
from dtem.services.training import TrainingReport, TrainOptions, train_policy
from dtem.services.training.dataset import FIT_TERMS
from dtem.services.training.labels import LABELS
from dtem.services.training.opportunity_service import OpportunityReport, train_opportunity_model

_DAYS = re.compile(r"^\s*(\d+)\s*d?\s*$")


def register(app: typer.Typer) -> None:
    app.command("train")(train)


def parse_days(text: str) -> int:
    """`90d` or `90` → 90.

    >>> parse_days("90d"), parse_days("30")
    (90, 30)
    """
    m = _DAYS.match(text)
    if not m or int(m.group(1)) <= 0:
        raise ArgumentInvalid(f"expected a positive number of days like 90d, got {text!r}")
    return int(m.group(1))


def parse_fit_terms(text: str) -> tuple[str, ...]:
    """`industry,size_band` → ('industry', 'size_band'); `none` → ().

    >>> parse_fit_terms("size_band"), parse_fit_terms("none")
    (('size_band',), ())
    """
    terms = tuple(t.strip() for t in text.split(",") if t.strip() and t.strip() != "none")
    unknown = [t for t in terms if t not in FIT_TERMS]
    if unknown:
        raise ArgumentInvalid(f"--fit-terms: unknown term(s) {unknown}; use {', '.join(FIT_TERMS)}")
    return terms


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ArgumentInvalid(f"expected a date like 2018-02-01, got {text!r}") from exc


@handle_errors
def train(
    snapshot: Annotated[str, typer.Option(help="Snapshot date S (YYYY-MM-DD): features as of S.")],
    horizon: Annotated[str, typer.Option(help="Label horizon: the event within (S, S+H].")] = "90d",
    label: Annotated[
        str,
        typer.Option(
            help="won: any win in (S, S+H], repeat buyers included; first-win: the account's "
            "first win (customers at S are no rows); advanced: an opportunity opened, moved to "
            "a later stage or won in (S, S+H]."
        ),
    ] = "won",
    holdout_days: Annotated[
        int | None, typer.Option(help="Holdout snapshot = S + N days (N ≥ horizon).")
    ] = None,
    holdout_snapshot: Annotated[
        str | None, typer.Option(help="Holdout snapshot date (instead of --holdout-days).")
    ] = None,
    train_snapshots: Annotated[
        int, typer.Option(help="Rolling origins ending at S, stacked for training.")
    ] = 1,
    every: Annotated[str, typer.Option(help="Spacing of the rolling origins.")] = "30d",
    population: Annotated[
        str, typer.Option(help="signalled (accounts with a signal by S) or all.")
    ] = "signalled",
    as_of: Annotated[
        str | None, typer.Option(help="Date E_half is proposed on (default: last signal/today).")
    ] = None,
    fit_terms: Annotated[
        str, typer.Option(help="Firmographic terms to fit: industry,size_band or none.")
    ] = "industry,size_band",
    note: Annotated[str, typer.Option(help="Why this version exists.")] = "",
    model: Annotated[
        str,
        typer.Option(
            help="account: the propensity model (policy weights); opportunity: P(win) of "
            "open opportunities, used by routing and the rebalance."
        ),
    ] = "account",
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Fit and calibrate the propensity model; report it on a later holdout; store it.

    Training rows are accounts as of --snapshot S labelled by --label in (S, S+H];
    the holdout is scored as of S+H (or --holdout-snapshot) and labelled by the next H
    days, so no holdout outcome is ever seen in training. The result is a NEW policy
    version, not active.

    Example:  dtem train --snapshot 2018-02-01 --horizon 90d --json
    """
    opts = _options(snapshot, horizon, holdout_days, holdout_snapshot, train_snapshots, every,
                    population, as_of, note)  # fmt: skip
    if label not in LABELS:
        raise ArgumentInvalid(f"--label must be one of {', '.join(LABELS)}, got {label!r}")
    if model not in ("account", "opportunity"):
        raise ArgumentInvalid(f"--model must be account or opportunity, got {model!r}")
    if model == "opportunity" and label != "won":
        raise ArgumentInvalid("--model opportunity has one label: won in (S, S+H]")
    opts = replace(opts, fit_terms=parse_fit_terms(fit_terms), label=label)
    c = open_ledger(db)
    governance.ensure_policy(c.ledger, c.clock, c.settings.actor)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=err_console,
        transient=True, disable=json_out,
    ) as progress:  # fmt: skip
        progress.add_task(f"training the {model} model…", total=None)
        if model == "opportunity":
            opp = train_opportunity_model(c.ledger, c.clock, opts, c.settings.actor)
        else:
            report = train_policy(c.ledger, c.clock, opts, c.settings.actor)
    if json_out:
        print_json(opp if model == "opportunity" else report)
    elif model == "opportunity":
        print_opportunity(opp)
    else:
        _print(report)


def _options(
    snapshot: str,
    horizon: str,
    holdout_days: int | None,
    holdout_snapshot: str | None,
    train_snapshots: int,
    every: str,
    population: str,
    as_of: str | None,
    note: str,
) -> TrainOptions:
    s = _date(snapshot)
    assert s is not None
    if population not in ("signalled", "all"):
        raise ArgumentInvalid(f"--population must be signalled or all, got {population!r}")
    if holdout_days is not None and holdout_snapshot is not None:
        raise ArgumentInvalid("give --holdout-days or --holdout-snapshot, not both")
    hold = _date(holdout_snapshot)
    if holdout_days is not None:
        hold = s + timedelta(days=holdout_days)
    return TrainOptions(
        snapshot=s,
        horizon_days=parse_days(horizon),
        holdout_snapshot=hold,
        train_snapshots=train_snapshots,
        every_days=parse_days(every),
        population=population,
        as_of=_date(as_of),
        note=note,
    )


def _print(r: TrainingReport) -> None:
    console.print(
        styled(
            ("train", "bold"),
            f" (--label {r.label}) rows {r.train.rows} ({r.train.positives} positive) from "
            f"{', '.join(map(str, r.train.snapshots))}; ",
            ("holdout", "bold"),
            f" rows {r.holdout.rows} ({r.holdout.positives} positive) as of "
            f"{r.holdout.snapshots[0]}, labels ({r.holdout.label_from}, {r.holdout.label_to}]",
        )
    )
    figures = Table("holdout", "AUC", "Brier", "calib. error", "mean P", "observed")
    for name, e in (
        ("model (stored)", r.model),
        ("model before calibration", r.model_uncalibrated),
        ("baseline: segment base rate", r.baseline),
    ):
        figures.add_row(
            name, f"{e.auc:.3f}", f"{e.brier:.4f}", f"{e.calibration_error:.4f}",
            f"{e.mean_predicted:.4f}", f"{e.observed_rate:.4f}",
        )  # fmt: skip
    console.print(figures)
    bins = Table("bin", "rows", "mean predicted", "observed rate", "won", title="calibration")
    for b in r.model.calibration:
        bins.add_row(
            str(b.bin), str(b.count), f"{b.mean_predicted:.4f}", f"{b.observed_rate:.4f}",
            str(b.positives),
        )  # fmt: skip
    console.print(bins)
    _print_comparison(r)
    _print_policy(r)


def _print_policy(r: TrainingReport) -> None:
    c = r.coefficients
    weights = ", ".join(f"{t}={w:.3f}" for t, w in c.weights.items() if t not in r.unseen_types)
    console.print(f"b0 = {c.b0:.3f}; weights: {weights}", highlight=False)
    if c.fit_industry or c.fit_size_band:
        console.print(f"fit: industry {c.fit_industry}, size band {c.fit_size_band}")
    console.print(f"Platt scaling: slope {r.platt_slope:.3f}, offset {r.platt_offset:.3f}")
    if r.new_types:
        console.print(f"signal types added from the history: {', '.join(r.new_types)}")
    e = r.e_half
    console.print(f"E_half {e.previous:g} → {e.stored:g} ({e.reason}; as of {e.as_of})")
    for w in r.warnings:
        err_console.print(styled(("warning: ", "bold yellow"), w), highlight=False)
    _print_verdict(r)


def _print_comparison(r: TrainingReport | OpportunityReport) -> None:
    cmp = r.comparison
    table = Table("same holdout rows", "AUC", "model − this [95% CI]", "Brier",
                  "calib. slope", "calib. intercept", title="model against baselines")  # fmt: skip
    for c in (cmp.model, *cmp.baselines):
        diff = "" if c.interval is None else (
            f"{c.difference:+.3f} [{c.interval[0]:+.3f}, {c.interval[1]:+.3f}]"
        )  # fmt: skip
        table.add_row(c.name, f"{c.auc:.3f}", diff, _num(c.brier, 5),
                      _num(c.calibration_slope, 3), _num(c.calibration_intercept, 3))  # fmt: skip
    console.print(table)
    console.print(
        f"The model is {cmp.summary} (bootstrap of {cmp.resamples} resamples, seed {cmp.seed}).",
        highlight=False,
    )


def _num(v: float | None, digits: int) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _print_verdict(r: TrainingReport | OpportunityReport) -> None:
    v = r.comparison.verdict
    what = "the opportunity model in policy" if isinstance(r, OpportunityReport) else "policy"
    where = f"stored {what} v{r.version} (not active; based on v{r.based_on_version})."
    if v.passed:
        console.print(styled(("gate: passed", "bold green"), f". {where} Activate it with: ",
                             (r.activate_with, "bold")), highlight=False)  # fmt: skip
        return
    console.print(styled(("gate: refused", "bold red"), f" — {'; '.join(v.reasons)}."),
                  highlight=False)  # fmt: skip
    console.print(f"{where} `{r.activate_with}` will refuse it; override only with "
                  "--force --reason TEXT (audited).", highlight=False)  # fmt: skip


def print_opportunity(r: OpportunityReport) -> None:
    """The opportunity model's rows, holdout figures, baselines, coefficients and verdict."""
    console.print(
        styled(
            ("train", "bold"),
            f" opportunities open at {', '.join(map(str, r.train.snapshots))}: {r.train.rows} "
            f"({r.train.positives} won within {r.horizon_days}d); ",
            ("holdout", "bold"),
            f" open at {r.holdout.snapshots[0]}: {r.holdout.rows} ({r.holdout.positives} won "
            f"in ({r.holdout.label_from}, {r.holdout.label_to}])",
        )
    )
    e = r.model
    console.print(
        f"holdout: AUC {e.auc:.3f}, Brier {e.brier:.4f}, calibration error "
        f"{e.calibration_error:.4f}, mean P {e.mean_predicted:.4f}, observed {e.observed_rate:.4f}",
        highlight=False,
    )
    bins = Table("bin", "rows", "mean predicted", "observed rate", "won", title="calibration")
    for b in e.calibration:
        bins.add_row(str(b.bin), str(b.count), f"{b.mean_predicted:.4f}",
                     f"{b.observed_rate:.4f}", str(b.positives))  # fmt: skip
    console.print(bins)
    _print_comparison(r)
    m = r.coefficients
    console.print(
        f"b0 = {m.b0:.3f}; stage {m.stage}; product {m.product}; log1p(age) {m.w_age:.3f}, "
        f"log(amount/{m.amount_ref:g}) {m.w_amount:.3f}, owner {m.w_owner:.3f}, account "
        f"{m.w_account:.3f} (Platt slope {r.platt_slope:.3f}, offset {r.platt_offset:.3f})",
        highlight=False,
    )
    _print_verdict(r)
