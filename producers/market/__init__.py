"""Market data sources: files, synthetic, and bundled samples."""
