"""Positions: average-cost accounting of fills per (account, symbol), marked to market."""

from streams.positions.accounting import FILL_ID_MEMORY, PositionBook, recompute_positions

__all__ = ["FILL_ID_MEMORY", "PositionBook", "recompute_positions"]
