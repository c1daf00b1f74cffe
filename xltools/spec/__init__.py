"""The report spec, declared once: `load_spec()` gives the reports a workbook holds (which is copied
per project, whose identity fields, which summary figures and file names), their layout, fields
and rules; `registry.Registry` says which spec reads a file, by its template's fingerprint."""
from .load import DEFAULT_SPEC, load_spec, topo_order
from .model import Check, CopyRule, CrossCheck, Field, IndicatorTable, Report, Spec, SumRule, Table, Term

__all__ = ["DEFAULT_SPEC", "load_spec", "topo_order", "Check", "CopyRule", "CrossCheck", "Field",
           "IndicatorTable", "Report", "Spec", "SumRule", "Table", "Term"]
