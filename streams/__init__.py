"""The faust-streaming app: signals, risk, execution, positions."""

from infra.compiled import check_fresh

# Parts of this package may be compiled in place (make build): never run a stale build.
check_fresh()
