"""The nightly forecast refresh: the forecast of the next 91 days, stored for the dashboard (Coverage
shows commissioners the stored outlook)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from rota.analytics.demand import Prior
from rota.analytics.forecast import forecast
from rota.config import Settings
from rota.services.forecasting import forecast_settings, history_window
from rota.storage import Engine
from rota.storage import alerts as store
from rota.storage.cases import load_cases
from rota.storage.rota import load_rota
from rota.timeutil import day_start, uk_local

FORECAST_DAYS = 91


def refresh_forecast(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    """The forecast-refresh job's work: forecast from today for 91 days and store the JSON."""
    tz = settings.tz
    today = now.astimezone(tz).date()
    start, end = day_start(today, tz), day_start(today + timedelta(days=FORECAST_DAYS), tz)
    figures = forecast_settings(engine)
    rota = load_rota(engine, start, end)
    cases = load_cases(engine)
    result = forecast(
        rota,
        cases,
        start,
        end,
        tz,
        Prior(child_population=figures.child_population),
        figures.commitment_hours,
        # whole quarters, as on the Capacity & forecast page: the stored outlook (shown to commissioners
        # on Coverage) changes with the rota and once a quarter, not with each newly notified case
        *history_window(cases, min(start, now), tz),
    )
    payload = json.loads(json.dumps(result.as_json(), default=str))
    store.store_forecast(engine, now, start, end, payload)
    return True, (
        f"forecast {uk_local(start, tz)} to {uk_local(end, tz)} stored: "
        f"{payload.get('expected_cases')} expected cases, from {cases.height} cases of history"
    )


def latest_forecast(engine: Engine) -> tuple[datetime, dict[str, Any]] | None:
    """The newest forecast the nightly job stored: (when, the `rota forecast` JSON), or None."""
    return store.latest_forecast(engine)
