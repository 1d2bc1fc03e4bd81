"""The satisfaction survey's vocabulary: the three answers, in the order the page offers them.

满意 and 基本满意 both count as satisfied in the figure (docs/sla.md, "Satisfaction survey"): the
customary 满意度 of the budget's performance evaluation, (满意 + 基本满意) / answers.
"""
from __future__ import annotations

from typing import Literal

Score = Literal["satisfied", "fair", "dissatisfied"]
SCORES: dict[Score, tuple[str, str]] = {
    "satisfied": ("满意", "Satisfied"),
    "fair": ("基本满意", "Fairly satisfied"),
    "dissatisfied": ("不满意", "Dissatisfied"),
}
SATISFIED: frozenset[str] = frozenset({"satisfied", "fair"})
COMMENT_MAX = 2000  # characters of the optional comment
