"""All runtime settings in one object, read from ``CDS_*`` environment variables.

The README's settings table is generated from this class
(``python -m services.settings_doc``); keep each field's description short
and true.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.registry import PACKAGED_MODEL_DIR


class Settings(BaseSettings):
    """Precision CDS settings. Every field maps to ``CDS_<FIELD_NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CDS_", env_file=None, extra="ignore")

    # -- models and features ----------------------------------------------------
    model_dir: Path = Field(
        PACKAGED_MODEL_DIR,
        description="Folder of models in TF Serving layout (<name>/<version>/); "
        "defaults to the models shipped in the package.",
    )
    ndjson_memory_mb: int = Field(
        512,
        ge=16,
        description="Memory budget for grouping Bulk Data NDJSON by patient; larger "
        "inputs are partitioned on disk.",
    )

    # -- recommendations (shared by CDS Hooks cards, batch output and the gRPC API) --
    risk_bands: dict[str, tuple[float, float]] = Field(
        {
            "post-mi-mortality": (0.10, 0.25),
            "breast-cancer-metastasis": (0.15, 0.30),
            "therapy-benefit": (0.30, 0.50),
            "diabetes-progression": (50.0, 80.0),
        },
        description="Per model, the two thresholds between the low / moderate / high bands "
        "(a probability; for diabetes-progression the score's percentile), as JSON. Bands map "
        "to card indicators info / warning / critical.",
    )
    top_factors: int = Field(
        5, ge=1, le=20, description="How many contributing factors a recommendation lists."
    )

    # -- inference ---------------------------------------------------------------
    # Which backend serves predict/explain, and how the TensorFlow Serving client
    # bounds a call: one deadline covering its retries, retries on UNAVAILABLE only,
    # and a circuit breaker so a dead server costs microseconds per call, not the
    # deadline.
    model_config_file: Path | None = Field(
        None,
        description="TensorFlow Serving models.config naming the served models, versions and "
        "labels; default: models.config in CDS_MODEL_DIR, else the latest version of each "
        "model there. Production points it at the file TensorFlow Serving reads.",
    )
    model_backend: Literal["embedded", "tfserving"] = Field(
        "embedded",
        description="embedded: load the SavedModels in CDS_MODEL_DIR in-process; tfserving: "
        "call TensorFlow Serving at CDS_TFSERVING_TARGET over gRPC.",
    )
    tfserving_target: str = Field(
        "localhost:8500",
        description="TensorFlow Serving gRPC address (host:port). Specs, cards and labels are "
        "still read from CDS_MODEL_DIR and CDS_MODEL_CONFIG_FILE, which must match the server's.",
    )
    tfserving_deadline_ms: int = Field(
        1000,
        ge=1,
        description="Deadline of each call to TensorFlow Serving, retries included.",
    )
    tfserving_retries: int = Field(
        2, ge=0, le=10, description="Retries of a call that failed with UNAVAILABLE."
    )
    tfserving_backoff_ms: int = Field(
        50, ge=1, description="Pause before the first retry; doubles on each further retry."
    )
    tfserving_breaker_failures: int = Field(
        3,
        ge=1,
        description="Consecutive failed calls (unavailable or past the deadline) that open "
        "the circuit breaker; while it is open, calls fail at once.",
    )
    tfserving_breaker_reset_s: float = Field(
        5.0,
        gt=0,
        description="Seconds the breaker stays open before one probe call tries the server again.",
    )

    # -- CDS Hooks service (cds serve) ------------------------------------------------
    public_base_url: str = Field(
        "http://127.0.0.1:8080",
        description="The URL EHRs call this service at (scheme, host, port, any path prefix). A "
        "JWT's `aud` must be this plus the endpoint path; card links point under it. `cds serve` "
        "without it uses http://HOST:PORT.",
    )
    trusted_clients: Path | None = Field(
        None,
        description="YAML or JSON file of the CDS clients (EHRs) allowed to call: per client its "
        "`iss`, keys (a static JWKS or allow-listed `jku` URLs), FHIR servers and tenants.",
    )
    dev_disable_auth: bool = Field(
        False,
        description="Development only: accept calls without a JWT (logged as a warning at start); "
        "`cds serve --dev` sets it.",
    )
    jwt_algorithms: tuple[str, ...] = Field(
        ("ES384", "RS384", "ES256", "RS256"),
        description="JWT signature algorithms accepted, as JSON; asymmetric only (`none` and HS* "
        "are refused).",
    )
    jwt_leeway_s: int = Field(
        30, ge=0, le=300, description="Clock skew allowed when checking a JWT's exp and iat."
    )
    jwt_max_age_s: int = Field(
        300, ge=1, description="Oldest JWT accepted: its iat at most this many seconds ago."
    )
    jwks_cache_s: int = Field(
        600, ge=0, description="How long a JWK Set fetched from an allow-listed `jku` is kept."
    )
    redis_url: str | None = Field(
        None,
        description="Redis for the JWT replay (jti) cache; unset: an in-memory cache, "
        "right for a single process only.",
    )
    redis_prefix: str = Field("cds:", description="Prefix of every Redis key the service writes.")
    database_url: str = Field(
        "sqlite:///cds.db",
        description="SQLAlchemy URL of the feedback and audit store: a SQLite file in the working "
        "directory by default, `postgresql://user@host/db` for PostgreSQL (psycopg 3).",
    )
    cors_origins: tuple[str, ...] = Field(
        (),
        description="Origins browsers may call the service from (CORS), as JSON, e.g. "
        '`["https://ehr.example.org"]`; `["*"]` for any.',
    )
    hook_budget_ms: int = Field(
        400,
        ge=10,
        description="Time allowed to score one hook call (features, model, explanation); when "
        "exceeded or when the model fails the answer is 200 with no card.",
    )
    fhir_timeout_ms: int = Field(
        1500,
        ge=10,
        description="Hard limit on fetching missing prefetch data from the client's FHIR server "
        "(all queries and pages of one call).",
    )
    fhir_max_pages: int = Field(
        5, ge=1, description="Most Bundle pages read (by `next` links) per prefetch query."
    )
    scoring_threads: int = Field(
        2,
        ge=1,
        description="Batches of hook calls scored at once in worker threads (CPU-bound work "
        "runs off the event loop; calls to one model that arrive together share a batch).",
    )
    system_actions: bool = Field(
        False,
        description="Add to each answer a `systemActions` entry creating a FHIR RiskAssessment.",
    )

    # -- gRPC API (cds grpc) -------------------------------------------------------
    # Our own gRPC API for other services (protos/precisioncds/v1). Plaintext
    # unless a certificate and key are set; mutual TLS when a client CA is set too.
    # Scoring runs on its own threads, never on the event loop, and no call
    # computes longer than its deadline or CDS_GRPC_CALL_TIMEOUT_S.
    grpc_port: int = Field(
        50051, ge=0, le=65535, description="Port of the gRPC API; 0 picks a free one."
    )
    grpc_tls_cert: Path | None = Field(
        None,
        description="PEM certificate chain the gRPC API presents; with CDS_GRPC_TLS_KEY it "
        "serves TLS only. Unset: plaintext (for loopback or a TLS-terminating mesh).",
    )
    grpc_tls_key: Path | None = Field(
        None,
        description="PEM private key of CDS_GRPC_TLS_CERT (keep it readable by the service only).",
    )
    grpc_tls_client_ca: Path | None = Field(
        None,
        description="PEM CA bundle for mutual TLS: clients must present a certificate it "
        "signed, else the handshake is refused. Needs CDS_GRPC_TLS_CERT and CDS_GRPC_TLS_KEY.",
    )
    grpc_max_message_mb: int = Field(
        16,
        ge=1,
        le=1024,
        description="Largest gRPC message received or sent (a Score request carries the "
        "patient's whole record); larger ones are refused with RESOURCE_EXHAUSTED.",
    )
    grpc_workers: int = Field(
        4, ge=1, le=64, description="Threads scoring gRPC calls (off the event loop)."
    )
    grpc_call_timeout_s: float = Field(
        30.0,
        gt=0,
        description="Longest a Score call (or one ScoreStream batch) computes when the "
        "client's deadline is later or unset; then DEADLINE_EXCEEDED.",
    )
    grpc_stream_window: int = Field(
        64,
        ge=1,
        le=4096,
        description="ScoreStream: requests read ahead of the responses written, scored "
        "together as one batch; gRPC flow control holds the rest in the client.",
    )

    # -- batch scoring (cds score, cds worker) -------------------------------------------
    broker_url: str | None = Field(
        None,
        description="Celery broker for batch jobs, e.g. `redis://127.0.0.1:6379/0`; unset: "
        "`cds score` runs the same tasks in-process (a process pool over the cores).",
    )
    result_backend: str | None = Field(
        None,
        description="Celery result backend, e.g. `redis://127.0.0.1:6379/1`; unset: the broker.",
    )
    batch_queue: str = Field(
        "cds-batch",
        pattern=r"^[A-Za-z0-9._:-]{1,100}$",
        description="Celery queue of batch chunks: `cds score` sends to it, `cds worker` reads "
        "it. Give deployments (or test runs) that share one Redis queues of their own.",
    )
    jobs_dir: Path = Field(
        Path("cds-jobs"),
        description="Folder of batch job records (progress, chunk manifest, chunk results), "
        "written by `cds score` and read by `cds jobs` and `GET /jobs`; workers do not need it.",
    )
    bulk_token: SecretStr | None = Field(
        None,
        description="Bearer token `cds score` sends to the FHIR server for a Bulk Data "
        "`$export` (kick-off, status, files).",
    )
    worker_metrics_port: int = Field(
        9540,
        ge=0,
        le=65535,
        description="Port of the Prometheus endpoint each `cds worker` serves; 0: none.",
    )

    # -- logging and privacy -------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level (logs are JSON lines on stderr)."
    )
    pseudonym_key: SecretStr | None = Field(
        None,
        description="Secret for the pseudonymous patient keys in audit records and logs; "
        "unset: a random key per process (keys then change at each start).",
    )

    @field_validator("jwt_algorithms")
    @classmethod
    def _asymmetric_only(cls, algorithms: tuple[str, ...]) -> tuple[str, ...]:
        """CDS Hooks forbids unsigned and shared-secret JWTs (§Trusting CDS Clients)."""
        bad = [a for a in algorithms if a.lower() == "none" or a.upper().startswith("HS")]
        if bad or not algorithms:
            raise ValueError(f"JWT algorithms must be asymmetric; refused: {bad or 'empty list'}")
        return algorithms

    @model_validator(mode="after")
    def _grpc_tls_complete(self) -> Settings:
        """Half a TLS configuration must not fall back to plaintext silently."""
        if (self.grpc_tls_cert is None) != (self.grpc_tls_key is None):
            raise ValueError("CDS_GRPC_TLS_CERT and CDS_GRPC_TLS_KEY go together")
        if self.grpc_tls_client_ca is not None and self.grpc_tls_cert is None:
            raise ValueError("CDS_GRPC_TLS_CLIENT_CA (mutual TLS) needs CDS_GRPC_TLS_CERT and _KEY")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests build their own ``Settings``)."""
    return Settings()
