"""The web console (``/console``): try a patient and see the cards an EHR would show,
read each model's card with its plots, follow batch jobs.

Plain HTML, JavaScript and CSS in ``static/`` (no build step), served by ``cds serve``
beside the CDS Hooks API; :func:`services.console.router.install` adds it to the app.
"""
