"""The project's exception root and the errors of the local infra."""

from __future__ import annotations

__all__ = [
    "BrokerStartError",
    "InfraError",
    "JarResolutionError",
    "KafkaAccessError",
    "NoBrokerError",
    "PrimestreamError",
    "RegistryStartError",
    "TracingStartError",
]


class PrimestreamError(Exception):
    """Root of every error primestream raises on purpose."""


class InfraError(PrimestreamError, RuntimeError):
    """The local infra could not do what was asked."""


class JarResolutionError(InfraError):
    """Maven could not resolve the jars of the local broker or registry."""


class BrokerStartError(InfraError):
    """The local Kafka broker did not start or did not answer in time."""


class RegistryStartError(InfraError):
    """The local schema registry did not start or did not answer in time."""


class TracingStartError(InfraError):
    """The local tracing backend did not start or did not answer in time."""


class NoBrokerError(InfraError):
    """No broker is configured and no local one is running."""


class KafkaAccessError(PrimestreamError):
    """The broker refused this client: wrong credentials, TLS, no answer, or no ACL."""
