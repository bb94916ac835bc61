"""The console's page and the few endpoints only it needs, under ``/console``.

The page itself calls the service's own endpoints from the browser (discovery,
the hook call, feedback, ``/models``, ``/jobs``), exactly as an EHR or an
operator would. What it asks of these endpoints is what a browser cannot do:

- ``GET /console/api/status``: whether patients can be tried here (only when
  authentication is off, ``cds serve --dev``: the browser cannot mint a JWT);
- ``GET /console/api/examples`` and ``…/examples/{model}/{file}``: the example
  patients of the served models, each moved in time so its index time is now;
- ``POST /console/api/hook-request/{service_id}``: a Bundle → the request an EHR
  would send (see :mod:`services.console.hook_requests`);
- ``GET /console/api/models/{name}/{roc,calibration}.svg``: a model card's plots.

The example and request endpoints answer 403 when authentication is on: trying
patients is for development servers only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Body, FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from adapters import FHIRInputError
from services.cds_hooks import errors
from services.console.examples import Example, current_bundle, list_examples
from services.console.hook_requests import hook_request
from services.console.plots import NoPlot, calibration_svg, roc_svg

if TYPE_CHECKING:
    from services.cds_hooks.app import Runtime

STATIC = Path(__file__).parent / "static"
_PLOTS: dict[str, Callable[[dict], str]] = {"roc": roc_svg, "calibration": calibration_svg}

router = APIRouter(prefix="/console", tags=["Console"])


def install(app: FastAPI) -> None:
    """Serve the console on ``app``: its endpoints and its static files."""
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _can_try_patients(rt: Runtime) -> bool:
    """Only with authentication off: a browser cannot sign an EHR's JWT."""
    return rt.authenticator is None


def _served_examples(rt: Runtime) -> list[Example]:
    return list_examples({s.model for s in rt.services.values()})


def _dev_only(rt: Runtime) -> Response | None:
    """403 unless patients can be tried here (a development server)."""
    if _can_try_patients(rt):
        return None
    return errors.operation_outcome(
        403,
        [errors.issue("forbidden", "trying patients needs a development server (cds serve --dev)")],
    )


@router.get("/", include_in_schema=False)  # /console redirects here, so page links are relative
async def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/api/status", summary="What this console can do here")
async def status(request: Request) -> Response:
    return errors.json_response({"try_patients": _can_try_patients(_runtime(request))})


@router.get("/api/examples", summary="Example patients of the served models")
async def examples(request: Request) -> Response:
    rt = _runtime(request)
    if (refused := _dev_only(rt)) is not None:
        return refused
    listed = [{"model": e.model, "file": e.file, "label": e.label} for e in _served_examples(rt)]
    return errors.json_response({"examples": listed})


@router.get("/api/examples/{model}/{file}", summary="An example patient's Bundle, dated now")
async def example(model: str, file: str, request: Request) -> Response:
    rt = _runtime(request)
    if (refused := _dev_only(rt)) is not None:
        return refused
    found = next((e for e in _served_examples(rt) if (e.model, e.file) == (model, file)), None)
    if found is None:
        return errors.not_found(f"example {model}/{file}")
    return errors.json_response(await anyio.to_thread.run_sync(current_bundle, found))


@router.post(
    "/api/hook-request/{service_id}", summary="The hook request an EHR would send for a Bundle"
)
async def request_for(
    service_id: str, request: Request, bundle: Annotated[Any, Body()]
) -> Response:
    rt = _runtime(request)
    if (refused := _dev_only(rt)) is not None:
        return refused
    service = rt.services.get(service_id)
    if service is None:
        return errors.not_found(f"service {service_id!r}")
    try:
        return errors.json_response(hook_request(service, bundle))
    except FHIRInputError as exc:
        return errors.invalid_fhir(exc, "bundle")


@router.get("/api/models/{name}/{plot}.svg", summary="A model card's ROC or calibration plot")
async def plot(name: str, plot: str, request: Request) -> Response:
    draw = _PLOTS.get(plot)
    info = await _runtime(request).served_model(name)
    if draw is None or info is None:
        return errors.not_found(f"plot {plot!r} of model {name!r}")
    try:
        svg = draw(info.card)
    except NoPlot:
        return errors.not_found(f"{plot} plot for model {name!r}")
    return Response(svg, media_type="image/svg+xml")
