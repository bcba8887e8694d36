"""`instructalign report`: turn eval runs into comparisons — tables, continual-learning metrics,
language similarity vs. transfer, and plots — in report.md and a self-contained report.html."""

from .build import make_report
from .render import write_report

__all__ = ["make_report", "write_report"]
