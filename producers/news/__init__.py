"""News sources and their VADER sentiment scoring."""
