"""The CDS Hooks 2.0 service (FastAPI): discovery, service calls, feedback, model cards.

``create_app(settings)`` builds the app; its lifespan loads the models (through
the inference layer), the trusted clients, the replay cache and the store.
Endpoints:

- ``GET /cds-services``: discovery (JWT required)
- ``POST /cds-services/{id}``: a hook call (JWT required)
- ``POST /cds-services/{id}/feedback``: card feedback (JWT required)
- ``GET /models``, ``/models/{name}``, ``/models/{name}/card``: model cards
- ``GET /healthz``, ``/readyz``, ``/metrics``; OpenAPI at ``/docs``
"""

from __future__ import annotations

import gc
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import anyio
import anyio.to_thread
import httpx
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services import metrics
from services.batch import api as batch_api
from services.cds_hooks import errors
from services.cds_hooks.auth import Authenticator, AuthError, JwksCache, audiences_for
from services.cds_hooks.cards import model_card_url
from services.cds_hooks.clients import TrustedClient, is_loopback, load_trusted_clients
from services.cds_hooks.discovery import CdsService, services_for
from services.cds_hooks.invoke import Invoker
from services.cds_hooks.model_cards import card_page
from services.cds_hooks.prefetch import Prefetcher
from services.cds_hooks.replay import ReplayCache, create_replay_cache
from services.cds_hooks.requests import FeedbackRequest, HookRequest
from services.cds_hooks.scoring import Scorer
from services.cds_hooks.store import AuditWriter, Store
from services.console import router as console
from services.logs import log_context
from services.privacy import Pseudonymizer
from services.recommend import Assessor
from services.settings import Settings

if TYPE_CHECKING:
    from services.inference import Inference, ModelInfo

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and FHIR URLs carry patient ids.
logging.getLogger("httpx").setLevel(logging.WARNING)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(slots=True)
class Runtime:
    """Everything the endpoints share, made by the lifespan."""

    settings: Settings
    inference: Inference
    services: dict[str, CdsService]
    discovery: dict
    invoker: Invoker
    authenticator: Authenticator | None
    store: Store

    async def served_model(self, name: str) -> ModelInfo | None:
        """The served version of model ``name`` (None when it is not served)."""
        infos = await anyio.to_thread.run_sync(self.inference.models)
        return next((i for i in infos if i.name == name), None)

    def server_allowed(self, client: TrustedClient | None) -> Callable[[str], bool]:
        """Where missing prefetch may be fetched: the client's servers; without
        authentication (development) loopback servers only."""
        return client.allows_fhir_server if client is not None else is_loopback


def create_app(
    settings: Settings,
    *,
    inference: Inference | None = None,
    pseudonyms: Pseudonymizer | None = None,
    clients: dict[str, TrustedClient] | None = None,
) -> FastAPI:
    """The CDS Hooks app. Without ``inference``, the lifespan creates the configured one;
    without ``clients``, the trusted clients are read from ``CDS_TRUSTED_CLIENTS``.

    Raises ``ValueError`` or ``OSError`` for a trusted-clients file that cannot be used.
    """
    if clients is None:
        clients = trusted_clients(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _runtime(settings, inference, clients, pseudonyms) as runtime:
            app.state.runtime = runtime
            yield

    app = FastAPI(
        title="Precision CDS: CDS Hooks service",
        version="2.0",
        summary="CDS Hooks 2.0 services scoring FHIR records with the served models.",
        lifespan=lifespan,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(RequestIdMiddleware)  # outermost: preflights get an id too
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(_Unauthorized, lambda _r, _e: errors.unauthorized())
    _routes(app)
    app.include_router(batch_api.router)
    console.install(app)
    return app


def trusted_clients(settings: Settings) -> dict[str, TrustedClient]:
    """The clients ``CDS_TRUSTED_CLIENTS`` names (none when unset); raises ``ValueError``
    or ``OSError`` for a file that cannot be used."""
    return load_trusted_clients(settings.trusted_clients) if settings.trusted_clients else {}


@asynccontextmanager
async def _runtime(
    settings: Settings,
    inference: Inference | None,
    clients: dict[str, TrustedClient],
    pseudonyms: Pseudonymizer | None,
) -> AsyncIterator[Runtime]:
    if settings.dev_disable_auth:
        log.warning(
            "AUTHENTICATION IS OFF (CDS_DEV_DISABLE_AUTH): any caller is accepted and missing "
            "prefetch is fetched from loopback FHIR servers only. Never use this with real data."
        )
    owned = inference is None
    if inference is None:
        from services.inference import create_inference

        inference = create_inference(settings)
    store = Store(settings.database_url)
    http = httpx.AsyncClient(timeout=settings.fhir_timeout_ms / 1000, follow_redirects=False)
    replay: ReplayCache | None = None
    audit: AuditWriter | None = None
    try:
        infos = await anyio.to_thread.run_sync(inference.models)
        await anyio.to_thread.run_sync(store.create_tables)
        services = services_for(infos)
        authenticator = None
        if not settings.dev_disable_auth:
            if not clients:
                log.warning(
                    "no trusted clients configured (CDS_TRUSTED_CLIENTS): every call gets 401"
                )
            replay = create_replay_cache(settings.redis_url, settings.redis_prefix)
            jwks = JwksCache(http, settings.jwks_cache_s)
            authenticator = Authenticator(settings, clients, replay, jwks)
        audit = AuditWriter(store)
        audit.start()
        scorer = Scorer(
            Assessor(inference, settings), anyio.CapacityLimiter(settings.scoring_threads)
        )
        invoker = Invoker(
            settings=settings,
            scorer=scorer,
            prefetcher=Prefetcher(http, settings.fhir_timeout_ms / 1000, settings.fhir_max_pages),
            audit=audit,
            pseudonyms=pseudonyms or Pseudonymizer(settings),
        )
        discovery = {"services": [s.to_json() for s in services.values()]}
        # The models bring hundreds of thousands of long-lived objects; keep the cyclic
        # garbage collector from walking them again and again while serving.
        gc.collect()
        gc.freeze()
        log.info(
            "CDS Hooks service ready",
            extra={"fields": {"services": list(services), "auth": authenticator is not None}},
        )
        yield Runtime(settings, inference, services, discovery, invoker, authenticator, store)
    finally:
        gc.unfreeze()
        if audit is not None:
            await audit.close()
        if replay is not None:
            await replay.close()
        await http.aclose()
        store.close()
        if owned:
            inference.close()


class _Unauthorized(Exception):
    pass


async def authenticate(request: Request) -> TrustedClient | None:
    """The calling client (CDS Hooks JWT); ``None`` only when authentication is off."""
    rt: Runtime = request.app.state.runtime
    if rt.authenticator is None:
        return None
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    audiences = audiences_for(rt.settings.public_base_url, path)
    try:
        return await rt.authenticator.authenticate(request.headers.get("authorization"), audiences)
    except AuthError as exc:
        metrics.JWT_REJECTIONS.labels(exc.reason).inc()
        log.warning("JWT refused", extra={"fields": {"reason": exc.reason}})
        raise _Unauthorized from None


Client = Annotated[TrustedClient | None, Depends(authenticate)]


def _routes(app: FastAPI) -> None:
    def runtime() -> Runtime:
        return app.state.runtime

    @app.get("/cds-services", tags=["CDS Hooks"], summary="Discovery")
    async def discovery(_client: Client) -> Response:
        return errors.json_response(runtime().discovery)

    @app.post("/cds-services/{service_id}", tags=["CDS Hooks"], summary="Call a service")
    async def call(service_id: str, body: HookRequest, client: Client) -> Response:
        rt = runtime()
        service = rt.services.get(service_id)
        if service is None:
            return errors.not_found(f"service {service_id!r}")
        return await rt.invoker(
            service, body, rt.server_allowed(client), client.label if client else None
        )

    @app.post(
        "/cds-services/{service_id}/feedback", tags=["CDS Hooks"], summary="Feedback on cards"
    )
    async def feedback(service_id: str, body: FeedbackRequest, _client: Client) -> Response:
        rt = runtime()
        if service_id not in rt.services:
            return errors.not_found(f"service {service_id!r}")
        new = await anyio.to_thread.run_sync(rt.store.add_feedback, service_id, body.feedback)
        for item in body.feedback:
            metrics.FEEDBACK.labels(service_id, item.outcome).inc()
        return errors.json_response({"received": len(body.feedback), "stored": new})

    @app.get("/models", tags=["Models"], summary="Models served")
    async def models() -> Response:
        rt = runtime()
        infos = await anyio.to_thread.run_sync(rt.inference.models)
        return errors.json_response(
            {
                "models": [
                    {
                        "name": i.name,
                        "version": i.version,
                        "title": i.card.get("title", i.name),
                        "task": i.card.get("task"),
                        "card": model_card_url(rt.settings.public_base_url, i.name),
                    }
                    for i in infos
                ]
            }
        )

    @app.get("/models/{name}", tags=["Models"], summary="A model's card (JSON)")
    async def model(name: str) -> Response:
        info = await runtime().served_model(name)
        if info is None:
            return errors.not_found(f"model {name!r}")
        return errors.json_response({"name": info.name, "version": info.version, "card": info.card})

    @app.get(
        "/models/{name}/card",
        tags=["Models"],
        summary="A model's card (page)",
        response_class=HTMLResponse,
    )
    async def model_page(name: str) -> Response:
        info = await runtime().served_model(name)
        if info is None:
            return errors.not_found(f"model {name!r}")
        return HTMLResponse(card_page(info.name, info.version, info.card))

    @app.get("/healthz", tags=["Operations"], summary="Liveness")
    async def healthz() -> Response:
        return errors.json_response({"status": "ok"})

    @app.get(
        "/readyz",
        tags=["Operations"],
        summary="Readiness: models loaded, store (and replay cache) reachable",
    )
    async def readyz() -> Response:
        rt = runtime()
        body: dict[str, object] = {
            "models": bool(await anyio.to_thread.run_sync(rt.inference.ready)),
            "store": await anyio.to_thread.run_sync(rt.store.ping),
            "services": len(rt.services),
        }
        if rt.authenticator is not None:
            body["replay_cache"] = await rt.authenticator.replay.ping()
        ready = all(body.values())
        body["status"] = "ready" if ready else "not ready"
        return errors.json_response(body, 200 if ready else 503)

    @app.get("/metrics", tags=["Operations"], summary="Prometheus metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _invalid_request(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return errors.validation_failed(exc.errors())


class RequestIdMiddleware:
    """Binds a request id to every log line of a request and returns it as ``X-Request-ID``
    (the caller's own, when it sends a sane one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with log_context(request_id=request_id):
            await self.app(scope, receive, send_with_id)
