"""`dtem train`: fit and calibrate the propensity model on the ledger's own history."""

from dtem.services.training.service import TrainingReport, TrainOptions, train_policy

__all__ = ["TrainOptions", "TrainingReport", "train_policy"]
