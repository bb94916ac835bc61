"""Prometheus metrics, one module for every door so names and labels stay consistent.

The metrics live in prometheus-client's default registry and are created once,
at import. The HTTP service exposes them at ``/metrics``; workers and the gRPC
server add theirs here. Labels never carry patient data: services, hooks,
models, outcomes and reasons only.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Seconds; CDS Hooks asks for answers "on the order of 500 ms".
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# -- CDS Hooks (HTTP) ------------------------------------------------------------------
HOOK_LATENCY = Histogram(
    "cds_hook_request_duration_seconds",
    "Time to answer a CDS Hooks service call, by service, hook and HTTP status.",
    ["service", "hook", "status"],
    buckets=LATENCY_BUCKETS,
)
CARDS = Counter(
    "cds_hook_cards_total", "Cards returned, by service and indicator.", ["service", "indicator"]
)
FAILSAFE = Counter(
    "cds_hook_failsafe_total",
    "Calls answered with no card, by reason: budget (scoring overran CDS_HOOK_BUDGET_MS), "
    "backend (the inference layer failed), error (anything else).",
    ["service", "reason"],
)
SCORING_LATENCY = Histogram(
    "cds_hook_scoring_duration_seconds",
    "Time to score one batch of hook calls (features, prediction, explanation), by model.",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
SCORING_BATCH = Histogram(
    "cds_hook_scoring_batch_size",
    "Hook calls scored together in one model call, by model.",
    ["model"],
    buckets=(1, 2, 4, 8, 16, 32),
)
PREFETCH = Counter(
    "cds_hook_prefetch_keys_total",
    "Prefetch keys by state: as the client sent them (provided, null, unavailable, absent), "
    "then fetched, fetch_failed, or truncated (paginated, not read to the end).",
    ["state"],
)
JWT_REJECTIONS = Counter(
    "cds_jwt_rejections_total", "Calls refused with 401, by reason.", ["reason"]
)
FEEDBACK = Counter(
    "cds_feedback_total",
    "Feedback items received, by service and outcome (duplicates included).",
    ["service", "outcome"],
)
AUDIT_DROPPED = Counter(
    "cds_audit_records_dropped_total",
    "Audit records that could not be written, by reason.",
    ["reason"],
)

# -- inference (every door) ---------------------------------------------------------------
MODEL_LATENCY = Histogram(
    "cds_model_request_duration_seconds",
    "Time of one call to the inference backend (failed calls included), by backend "
    "(embedded, tfserving), model and method (predict, explain).",
    ["backend", "model", "method"],
    buckets=LATENCY_BUCKETS,
)

# -- batch workers (cds worker, and the in-process pool of cds score) ---------------------
# Served by each `cds worker` on CDS_WORKER_METRICS_PORT, aggregated over its processes.
BATCH_TASKS = Counter(
    "cds_batch_tasks_total",
    "Chunk tasks by outcome: success, retry (a transient error, tried again later) or failure.",
    ["outcome"],
)
BATCH_CHUNK_LATENCY = Histogram(
    "cds_batch_chunk_duration_seconds",
    "Time to score one chunk of patients with every model of its job.",
    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0),
)
BATCH_PATIENTS = Counter(
    "cds_batch_patients_scored_total", "Patients scored by batch jobs, by model.", ["model"]
)
BATCH_ERRORS = Counter(
    "cds_batch_errors_total",
    "Patients a batch job could not score with a model, by reason (the error's type).",
    ["reason"],
)
BATCH_MODEL_LOAD = Histogram(
    "cds_batch_model_load_seconds",
    "Time a worker process took to load the models after the fork.",
    buckets=(1.0, 2.5, 5.0, 10.0, 25.0, 60.0),
)
