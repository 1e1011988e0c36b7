"""The one Blueprint every orchestrator registers on; function_app.py registers it on the app."""

from __future__ import annotations

import azure.durable_functions as df

bp = df.Blueprint()
