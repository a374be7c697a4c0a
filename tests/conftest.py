import os

from hypothesis import HealthCheck, settings

# "ci" keeps the suite inside CI's time budget; run HYPOTHESIS_PROFILE=deep for a long search.
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "deep", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
