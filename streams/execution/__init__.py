"""Execution: the paper book and the live venue adapters turn orders into order events and fills."""

from streams.execution.fill_model import FillModel
from streams.execution.paper_book import PaperBook
from streams.execution.reports import EMPTY, ExecutionReport, fill_record, money, order_event

__all__ = [
    "EMPTY",
    "ExecutionReport",
    "FillModel",
    "PaperBook",
    "fill_record",
    "money",
    "order_event",
]
