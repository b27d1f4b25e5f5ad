"""Downstream readers: tail, export, replay, reports."""
