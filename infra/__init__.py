"""Local infra: settings, the Kafka broker and registry processes, topics as code, telemetry."""
