"""The report spec, declared once: `load_spec()` gives the layout, fields and rules of both reports."""
from .load import DEFAULT_SPEC, load_spec, topo_order
from .model import Check, CopyRule, CrossCheck, Field, IndicatorTable, Report, Spec, SumRule, Table, Term

__all__ = ["DEFAULT_SPEC", "load_spec", "topo_order", "Check", "CopyRule", "CrossCheck", "Field",
           "IndicatorTable", "Report", "Spec", "SumRule", "Table", "Term"]
