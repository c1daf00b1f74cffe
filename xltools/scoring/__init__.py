"""Scoring a performance indicator, as the spec's rules say (财预〔2020〕10号 and the platforms
that apply it): parse.py reads a 指标值 and a 实际完成值, rules.py holds the rules a spec states
(its [scoring] table), indicator.py scores one indicator by them.

Pure: text and numbers in, Decimal scores and a Chinese explanation out. No workbook objects here.
"""
from .indicator import QUANTITATIVE_NATURES, Scored, cents, score_indicator
from .parse import (EQ, GE, LE, QUALITATIVE, QUALITATIVE_WORDS, RANGE, Measured, Target, parse_actual,
                    parse_target, target_text)
from .rules import DEFAULT_BANDS, DEFAULT_RULES, Band, ScoringRules

__all__ = ["Target", "Measured", "Scored", "parse_target", "parse_actual", "target_text", "score_indicator",
           "cents", "GE", "LE", "EQ", "RANGE", "QUALITATIVE", "QUALITATIVE_WORDS", "QUANTITATIVE_NATURES",
           "Band", "ScoringRules", "DEFAULT_BANDS", "DEFAULT_RULES"]
