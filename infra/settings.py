"""All primestream settings: the one module that reads the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "SaslMechanism",
    "SecurityProtocol",
    "Settings",
    "choose_namespace",
    "chosen_namespace",
    "get_settings",
]

TracingExporter = Literal["none", "console", "otlp", "zipkin"]
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def _default_home() -> Path:
    return Path.home() / ".cache" / "primestream"


def _default_dist() -> Path:
    return Path.home() / ".cache" / "primestream" / "dist"


class Settings(BaseSettings):
    """Typed, frozen settings; every field is `PRIMESTREAM_<FIELD>` in the environment.

    Subsystems receive this object (or the fields they need); none of them reads
    the environment on its own.
    """

    model_config = SettingsConfigDict(
        env_prefix="PRIMESTREAM_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # --- where Kafka and the registry are -------------------------------------------
    bootstrap_servers: str | None = Field(
        default=None,
        description="Existing Kafka cluster (host:port,...). When set, no local broker is started.",
    )
    schema_registry_url: str | None = Field(
        default=None,
        description="Existing Confluent-compatible schema registry. When set, none is started.",
    )
    schema_registry_user: str | None = Field(default=None, description="Registry basic-auth user.")
    schema_registry_password: SecretStr | None = Field(
        default=None, description="Registry basic-auth password (never printed)."
    )
    registry: bool = Field(
        default=True,
        description="Start (and use) a local Apicurio registry. Off, with no URL: "
        "records use Avro single-object encoding resolved from schemas/.",
    )
    kafka_extra_config: dict[str, str] = Field(
        default_factory=dict,
        description="Raw librdkafka settings (JSON) merged into every client, over the typed "
        "security settings below.",
    )
    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT",
        description="How every client talks to Kafka: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL.",
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        default="SCRAM-SHA-512", description="SASL mechanism (with a SASL_* protocol)."
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (never printed)."
    )
    kafka_ssl_ca_location: Path | None = Field(
        default=None,
        description="CA certificate (PEM) that signed the brokers' certificates; unset: the "
        "system's CAs.",
    )
    kafka_connect_timeout_secs: float = Field(
        default=15.0,
        gt=0.0,
        description="How long a command or worker waits for the broker's first answer on a "
        "secured connection before it fails with the reason.",
    )

    # --- the local infra started by `primestream infra up` --------------------------
    home: Path = Field(
        default_factory=_default_home,
        description="State directory of the local infra: data, logs, pids, unpacked registry.",
    )
    dist_dir: Path = Field(
        default_factory=_default_dist,
        description="Cache of the resolved broker classpath and unpacked registry, shared by "
        "every home (the jars themselves stay in ~/.m2).",
    )
    kafka_port: int = Field(
        default=9092,
        description="Local broker port (0 = any free port); a cluster's nodes take it, +1, +2...",
    )
    brokers: int = Field(
        default=1,
        ge=1,
        description="Brokers `infra up` starts in a new home: 3 is a replicated cluster "
        "(replication 3, min.insync.replicas 2, internal topics too); a home keeps its size.",
    )
    registry_port: int = Field(default=8081, description="Local registry port (0 = any free port).")
    kafka_heap_mb: int = Field(default=1024, description="Local broker JVM heap.")
    registry_heap_mb: int = Field(default=512, description="Local registry JVM heap.")
    java_home: Path | None = Field(
        default=None, description="JDK for the local infra (default: java on PATH)."
    )
    start_timeout_secs: float = Field(default=90.0, description="How long `infra up` waits.")

    # --- topics ---------------------------------------------------------------------
    partitions: int = Field(default=4, description="Partitions of every trading topic.")
    replication_factor: int | None = Field(
        default=None,
        ge=1,
        description="Replication factor of every topic (min.insync.replicas: 2 from 3 copies "
        "on). Unset: the cluster's own default.replication.factor and min.insync.replicas "
        "(the local cluster's: min(3, brokers) and 2 from 3 brokers on).",
    )
    namespace: str = Field(
        default="", description="Topic prefix and app-id suffix, so replays never touch live data."
    )

    # --- streams --------------------------------------------------------------------
    strategy_config: Path | None = Field(
        default=None,
        description="Strategy TOML (default: streams/strategies/examples/default.toml).",
    )
    strategy_overrides: dict[str, str] = Field(
        default_factory=dict,
        description="Dotted-key overrides of the strategy TOML (JSON), "
        'e.g. {"strategies.sma_cross.params.fast": "5"}.',
    )
    event_time_grace_ms: float = Field(
        default=0.0,
        ge=0.0,
        description="Reorder window per symbol; older records are dead-lettered.",
    )
    commit_interval_ms: float = Field(
        default=100.0,
        gt=0.0,
        description="How often a worker commits (exactly once: how soon outputs become "
        "visible to read_committed readers).",
    )
    commit_min_interval_ms: float = Field(
        default=10.0,
        ge=0.0,
        description="A worker that has caught up with its input commits this soon after its "
        "last commit (commit_interval_ms bounds a busy one).",
    )
    transaction_lanes: int = Field(
        default=3,
        ge=1,
        le=4,
        description="A worker's transactional producers, taking turns: outputs made while "
        "one commits go straight into the next one's transaction (streams.runtime.lanes; "
        "3, so a lane never begins while its last commit's markers are being written).",
    )
    transaction_timeout_ms: float = Field(
        default=10_000.0,
        gt=0.0,
        description="How long the broker lets a worker's transaction stay open; a killed "
        "worker that never comes back holds read_committed readers this long at most.",
    )
    kafka_retry_backoff_ms: float = Field(
        default=2.0,
        gt=0.0,
        description="How long a worker's producer waits before retrying a request the broker "
        "deferred (librdkafka's 100 ms made every exactly-once commit ~100 ms).",
    )
    fetch_max_wait_ms: float = Field(
        default=10.0,
        gt=0.0,
        description="How long the broker may hold a worker's fetch when nothing is new.",
    )
    gil_switch_interval_ms: float = Field(
        default=0.5,
        gt=0.0,
        description="How long a worker's thread may hold the interpreter lock while another "
        "waits (Python's default is 5 ms): the commit and fetch threads wait less to go on "
        "(BENCHMARKS.md, 'The interpreter lock').",
    )
    max_batch_records: int = Field(
        default=2000,
        gt=0,
        description="Most records a worker takes from its consumer at a time.",
    )
    worker_id: str | None = Field(
        default=None,
        description="This worker's stable identity (its transactional id's suffix); unset: "
        "<host>-<n>, the lowest n no other live worker of this home holds.",
    )
    publish_linger_ms: float = Field(
        default=5.0,
        ge=0.0,
        description="How long `produce` (and the demo's feed) gathers records into one request. "
        "A quote waits up to this long before it leaves, but fewer, larger requests cost the "
        "broker less: with the broker on the same two cores, 0 and 1 ms made the signal p99 "
        "worse, not better (BENCHMARKS.md, 'Publisher linger').",
    )
    producer_linger_ms: float = Field(
        default=2.0,
        ge=0.0,
        description="How long a worker's producers gather records into one produce request. "
        "A commit sends its offsets while its records go out, so a record gathered longer "
        "than the offsets take holds the commit up: 2 ms cut the signal's p99 by ~15% at "
        "1,000 quotes/s against 5, and cost the alert-only worker ~10% of its throughput "
        "(BENCHMARKS.md, 'The worker's linger').",
    )
    trading_mode: Literal["alert-only", "paper", "live"] | None = Field(
        default=None,
        description="alert-only, paper or live; overrides the strategy config's [risk] mode "
        "(whose default is alert-only).",
    )
    session_timeout_secs: float = Field(
        default=10.0,
        gt=0.0,
        description="How long a silent worker (killed, hung) keeps its partitions before the "
        "group gives them to the others.",
    )
    venue_poll_secs: float = Field(
        default=2.0,
        gt=0.0,
        description="Live mode: how often each worker asks the venue about the orders of "
        "its partitions (one venue.poll record per partition).",
    )
    worker_stall_secs: float = Field(
        default=30.0,
        gt=0.0,
        description="A worker that has committed nothing for this long while work waits (a "
        "commit, processed records, a rebalance) exits with code 75 so its supervisor "
        "restarts it from the last commit.",
    )
    recovery_stall_secs: float = Field(
        default=120.0,
        gt=0.0,
        description="A worker whose table recovery makes no progress for this long exits "
        "with the reason instead of hanging.",
    )

    # --- telemetry ------------------------------------------------------------------
    tracing_exporter: TracingExporter = Field(
        default="none", description="Where spans go: none, console, otlp or zipkin."
    )
    tracing_sample_ratio: float = Field(
        default=0.01, ge=0.0, le=1.0, description="Fraction of records whose spans are recorded."
    )
    otlp_endpoint: str = Field(
        default="http://127.0.0.1:4318", description="OTLP/HTTP endpoint for traces."
    )
    zipkin_endpoint: str = Field(
        default="http://127.0.0.1:9411/api/v2/spans",
        description="Zipkin v2 JSON endpoint for traces (tracing_exporter=zipkin).",
    )
    tracing_backend: bool = Field(
        default=True,
        description="`primestream demo` starts the local tracing backend (Zipkin) and points "
        "its processes at it; `infra up` starts it only with --tracing.",
    )
    tracing_port: int = Field(
        default=9411,
        description="Local tracing backend port: UI, query API, span intake (0 = any free port).",
    )
    tracing_heap_mb: int = Field(default=256, description="Local tracing backend JVM heap.")
    service_name: str = Field(default="primestream", description="OpenTelemetry service.name.")
    web_host: str = Field(
        default="127.0.0.1",
        description="Address the workers' web views (/metrics, /health, /ready) and the "
        "producers' /metrics bind to; 0.0.0.0: every interface.",
    )
    metrics_port: int | None = Field(
        default=None,
        description="Producers (`primestream produce`) and the alert dispatcher "
        "(`primestream alerts run`) serve GET /metrics on this port while they run; unset: "
        "off. Workers serve it on their --web-port.",
    )

    # --- alerts (`primestream alerts run`) ---------------------------------------------
    alert_webhook_urls: list[str] = Field(
        default_factory=list,
        description="Webhooks the alert dispatcher posts to (JSON list); an entry may start "
        "with `slack:`, `discord:` or `json:` to pick its payload format.",
    )
    alert_format: Literal["slack", "discord", "json"] = Field(
        default="json",
        description="Payload of webhooks without a format prefix: slack {text}, discord "
        "{content}, json (every field).",
    )
    alert_lag_threshold: int = Field(
        default=10_000,
        ge=0,
        description="A worker whose input lag (records) passes this is reported as lagging.",
    )
    alert_check_secs: float = Field(
        default=15.0,
        gt=0.0,
        description="How often the dispatcher checks the workers' readiness and lag.",
    )
    alert_max_attempts: int = Field(
        default=8,
        ge=0,
        description="Deliveries tried per alert and webhook before it counts as failed "
        "(0: retry until delivered).",
    )
    alert_backoff_secs: float = Field(
        default=1.0, gt=0.0, description="Wait before the first retry; doubles each retry."
    )
    alert_backoff_max_secs: float = Field(
        default=30.0, gt=0.0, description="Longest wait between two retries."
    )
    alert_timeout_secs: float = Field(
        default=5.0, gt=0.0, description="Timeout of one webhook request."
    )
    alert_start: Literal["latest", "earliest"] = Field(
        default="latest",
        description="Where a dispatcher whose group has no committed offsets starts reading "
        "(latest: no flood of old alerts on first start).",
    )

    # --- producers ------------------------------------------------------------------
    max_future_secs: float = Field(
        default=300.0, description="Records stamped further in the future are rejected."
    )
    max_text_chars: int = Field(default=4000, description="Longest accepted headline/body.")
    symbols: list[str] = Field(
        default_factory=list,
        description="Known symbols (JSON list). Empty: any well-formed symbol is accepted.",
    )

    # --- live broker (E*TRADE) -------------------------------------------------------
    etrade_consumer_key: SecretStr | None = Field(
        default=None, description="E*TRADE API consumer key (never printed)."
    )
    etrade_consumer_secret: SecretStr | None = Field(
        default=None, description="E*TRADE API consumer secret (never printed)."
    )
    etrade_access_token: SecretStr | None = Field(
        default=None,
        description="OAuth access token from the browser authorization; valid until "
        "midnight US Eastern (never printed).",
    )
    etrade_access_token_secret: SecretStr | None = Field(
        default=None, description="OAuth access token secret (never printed)."
    )
    etrade_account_id_key: str | None = Field(
        default=None, description="accountIdKey of the account to trade (from List Accounts)."
    )
    etrade_sandbox: bool = Field(
        default=True, description="Use E*TRADE's sandbox host (apisb.etrade.com), not live."
    )
    etrade_base_url: str | None = Field(
        default=None,
        description="Overrides the sandbox/live host, e.g. http://127.0.0.1:8080 for a fake "
        "server in tests.",
    )
    etrade_timeout_secs: float = Field(
        default=10.0, gt=0.0, description="Timeout of each E*TRADE HTTP request."
    )
    etrade_token_file: Path | None = Field(
        default=None,
        description="Where `primestream etrade auth` stores the access token (mode 0600) and "
        "the live worker reads it when PRIMESTREAM_ETRADE_ACCESS_TOKEN is unset; default "
        "<PRIMESTREAM_HOME>/etrade/tokens.json.",
    )
    kill_cancels_orders: bool = Field(
        default=True,
        description="`primestream risk kill` also cancels every open order at the live venue "
        "(its --cancel-orders / --keep-orders flags override this).",
    )

    @property
    def etrade_tokens_path(self) -> Path:
        """Return the E*TRADE token file: the setting, else <home>/etrade/tokens.json."""
        return self.etrade_token_file or self.home / "etrade" / "tokens.json"

    @property
    def kafka_secured(self) -> bool:
        """True when clients authenticate or encrypt (any protocol but PLAINTEXT)."""
        return self.kafka_security_protocol != "PLAINTEXT"

    @property
    def uses_local_broker(self) -> bool:
        """True when primestream starts and owns the broker."""
        return self.bootstrap_servers is None

    def topic(self, name: str) -> str:
        """Return NAME inside this settings' namespace."""
        return f"{self.namespace}.{name}" if self.namespace else name


_CHOSEN_NAMESPACE = "namespace"


def chosen_namespace(home: Path) -> str | None:
    """Return the namespace chosen with `primestream namespaces use` in HOME, if any."""
    try:
        name = (home / _CHOSEN_NAMESPACE).read_text().strip()
    except OSError:
        return None
    return name or None


def choose_namespace(home: Path, name: str | None) -> None:
    """Make NAME the namespace commands use when PRIMESTREAM_NAMESPACE is unset (None: none).

    Kept in the local state directory, like kubectl's current context: after `make demo`,
    `tail`, `pnl` and `status` read the demo's topics without a variable to copy.
    """
    path = home / _CHOSEN_NAMESPACE
    if name is None:
        path.unlink(missing_ok=True)
    else:
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{name}\n")
    get_settings.cache_clear()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment and `.env`.

    PRIMESTREAM_NAMESPACE (or `.env`) wins; unset, the namespace chosen with
    `primestream namespaces use` applies.
    """
    settings = Settings()
    if "namespace" in settings.model_fields_set:
        return settings
    chosen = chosen_namespace(settings.home)
    return settings.model_copy(update={"namespace": chosen}) if chosen else settings
