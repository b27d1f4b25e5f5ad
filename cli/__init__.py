"""The `primestream` command line."""
