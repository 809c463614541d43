"""Assignment solvers on plain arrays: min-cost flow, GAP MIP, greedy, their bounds."""

from dtem.optimizer.flow import assign_count_capacity
from dtem.optimizer.gap import assign_gap
from dtem.optimizer.greedy import assign_greedy
from dtem.optimizer.highs import lp_bound
from dtem.optimizer.problem import Assignment, AssignmentProblem

__all__ = [
    "Assignment",
    "AssignmentProblem",
    "assign_count_capacity",
    "assign_gap",
    "assign_greedy",
    "lp_bound",
]
