"""The scoring rules a spec states (its [scoring] table), as data the scorer and the checker share.

The deployed 预算管理一体化 platforms score an indicator by rules that are configuration, per
province and year (domain.md, "How an indicator is scored"); the 2022 county form follows others.
A spec names one method per direction of the 指标值 and gives its parameters; the methods are
declared here once, each a function of (完成值, 指标值) -> the share of 分值 it earns:

    above   正向 (≥ >)  "proportional": full at or above the target, 完成值/指标值 below it
    below   反向 (≤ <)  "inverse":      full at or below the target, 指标值/完成值 above it
                        "linear":       full at or below; 1 − (完成值 − 指标值)/指标值 above it,
                                        0 at twice the target or more
    equal   等于 (=)    "closeness":    the smaller of 完成值 and 指标值 over the larger
                        "at-least":     as "proportional"; with a target of 0, full when 完成值 ≤ 0

定性: each band (达成 / 部分达成 / 未达成) is a share of 分值, [low, high) (the top band holds its
high too), picked by its option words; `propose` is the share `xltools score` proposes, and
`keep_chosen` keeps a score the evaluator gave inside its band. `negative_zero`: a negative
完成值 counts as 0. `execution_cap`: the 预算执行率 score stops at its 分值. `judge`: the checker
reports stated scores that contradict these rules; `reason_over`: a 偏差原因 is required also
where the result reaches this multiple of the target. `score_ahead`, `unspent`: the 自评预警.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ABOVE_METHODS = ("proportional",)
BELOW_METHODS = ("inverse", "linear")
EQUAL_METHODS = ("closeness", "at-least")
NO_SHARE = None        # a method that cannot judge this target (e.g. a ratio to a target of 0)


@dataclass(frozen=True)
class Band:
    """One band of a qualitative conclusion: its share of 分值 and the words that pick it."""
    name: str                          # 达成, 部分达成, 未达成
    low: Decimal                       # inclusive
    high: Decimal                      # exclusive, but for the top band (high == 1)
    propose: Decimal                   # what `xltools score` proposes
    words: tuple[str, ...] = ()        # option words (the form's long word first); () = the broad vocabulary

    def holds(self, share: Decimal) -> bool:
        return self.low <= share < self.high or share == self.high == 1


# 财预〔2020〕10号: 达成 80–100%, 部分达成 60–80%, 未达成 0–60% of 分值.
DEFAULT_BANDS = (Band("达成", Decimal("0.8"), Decimal(1), Decimal(1)),
                 Band("部分达成", Decimal("0.6"), Decimal("0.8"), Decimal("0.8")),
                 Band("未达成", Decimal(0), Decimal("0.6"), Decimal("0.6")))


@dataclass(frozen=True)
class ScoringRules:
    above: str = "proportional"
    below: str = "inverse"
    equal: str = "closeness"
    negative_zero: bool = False
    bands: tuple[Band, ...] = DEFAULT_BANDS
    keep_chosen: bool = False
    execution_cap: bool = True
    judge: bool = False
    reason_over: Decimal | None = None
    score_ahead: Decimal | None = None      # percentage points
    unspent: Decimal | None = None          # a share of the budget
    words: dict[str, str] | None = field(default=None, compare=False)   # word -> band; None: broad

    def __post_init__(self):
        declared = {w: b.name for b in self.bands for w in b.words}
        object.__setattr__(self, "words", declared or None)

    def band(self, name: str) -> Band:
        return next(b for b in self.bands if b.name == name)

    @property
    def option_words(self) -> str:
        """The bands' first words, as a message lists them: 达成年度指标／部分达成…"""
        return "／".join((b.words or (b.name,))[0] for b in self.bands)


DEFAULT_RULES = ScoringRules()


# -- the methods: (完成值, 指标值) -> share of 分值 in [0, 1], or NO_SHARE -----------------------------
def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return NO_SHARE if whole <= 0 else min(max(part / whole, Decimal(0)), Decimal(1))


def share_above(method: str, actual: Decimal, target: Decimal) -> Decimal | None:
    return Decimal(1) if actual >= target else _ratio(actual, target)


def share_below(method: str, actual: Decimal, target: Decimal) -> Decimal | None:
    if actual <= target:
        return Decimal(1)
    if method == "inverse":
        return _ratio(target, actual) if target > 0 else NO_SHARE
    if target <= 0:                       # linear: no room between the target and twice it
        return NO_SHARE
    return max(Decimal(1) - (actual - target) / target, Decimal(0))


def share_equal(method: str, actual: Decimal, target: Decimal) -> Decimal | None:
    if method == "at-least":
        if target == 0:
            return Decimal(1) if actual <= 0 else Decimal(0)
        return share_above("proportional", actual, target)
    if actual == target:
        return Decimal(1)
    if target <= 0:
        return NO_SHARE
    return _ratio(min(actual, target), max(actual, target))
