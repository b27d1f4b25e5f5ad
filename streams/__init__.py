"""The faust-streaming app: signals, risk, execution, positions."""
