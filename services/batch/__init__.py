"""Batch cohort scoring: Bulk Data NDJSON in, one RiskAssessment per patient per model out.

- :mod:`services.batch.jobs`: the job folder (record, chunk manifest, chunk results),
  written atomically so a chunk is stored exactly once however often it runs.
- :mod:`services.batch.scoring`: the task itself (one chunk of patients, every model).
- :mod:`services.batch.celery_app`: the Celery app and task (Redis broker and backend).
- :mod:`services.batch.runner`: streams the input, fans chunks out (Celery, or a
  process pool when no broker is set) and collects their results.
- :mod:`services.batch.merge`: the final outputs, built from the manifest.
- :mod:`services.batch.api`: ``GET /jobs`` for the HTTP service.

Heavy modules (TensorFlow, Celery, pyarrow) are imported only where they run.
"""
