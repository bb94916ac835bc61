"""The Celery app of batch scoring: Redis as broker and result backend.

Chunks travel as orjson (JSON, fast; never pickle, which would let whoever can
write to the broker run code in the workers). Each worker process loads the
models after the fork (``worker_process_init``): TensorFlow loaded in the
parent hangs forked children.

Nothing is lost or done twice: a task is acknowledged only when it has
finished (``acks_late``) and put back when its worker process dies
(``reject_on_worker_lost``), so a chunk whose worker was killed runs again;
the coordinator stores each chunk's result under the chunk's own name, so a
chunk that ran twice is still stored once. Transient backend errors retry
with exponential backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import orjson
from celery import Celery
from celery.signals import worker_process_init
from kombu.serialization import register

from services import metrics
from services.batch.scoring import TRANSIENT, load_process_scorer, score_in_process
from services.settings import Settings, get_settings

SERIALIZER = "orjson"
TASK_NAME = "cds.batch.score_chunk"
MAX_RETRIES = 5

register(
    SERIALIZER,
    orjson.dumps,
    orjson.loads,
    content_type="application/x-orjson",
    content_encoding="binary",
)


def create_celery(settings: Settings) -> Celery:
    """The app for ``settings`` (``CDS_BROKER_URL``, ``CDS_RESULT_BACKEND``)."""
    # Celery logs each task's return value at INFO, and a chunk's names its patients.
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
    app = Celery(
        "precision_cds",
        broker=settings.broker_url,
        backend=settings.result_backend or settings.broker_url,
    )
    app.conf.update(
        task_serializer=SERIALIZER,
        result_serializer=SERIALIZER,
        accept_content=[SERIALIZER],
        result_accept_content=[SERIALIZER],
        task_default_queue=settings.batch_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a chunk is minutes of work: no hoarding
        worker_hijack_root_logger=False,
        # A pool process signals that it is up after worker_process_init, so after
        # loading the models: Celery's default 4 s would kill it and start another.
        worker_proc_alive_timeout=300,
        broker_connection_retry_on_startup=True,
        result_expires=7 * 24 * 3600,  # a stopped job can be resumed within a week
    )
    app.task(
        name=TASK_NAME,
        acks_late=True,
        reject_on_worker_lost=True,
        autoretry_for=TRANSIENT,
        retry_backoff=2,
        retry_backoff_max=120,
        max_retries=MAX_RETRIES,
    )(_score_chunk)
    return app


def _score_chunk(payload: Mapping) -> dict:
    """Score one chunk; its result goes to the result backend for the coordinator."""
    try:
        result = score_in_process(payload)
    except TRANSIENT:
        metrics.BATCH_TASKS.labels("retry").inc()
        raise
    except Exception:
        metrics.BATCH_TASKS.labels("failure").inc()
        raise
    metrics.BATCH_TASKS.labels("success").inc()
    return result


@worker_process_init.connect
def _load_models(**_kwargs: object) -> None:
    started = time.perf_counter()
    load_process_scorer()
    metrics.BATCH_MODEL_LOAD.observe(time.perf_counter() - started)


app = create_celery(get_settings())
