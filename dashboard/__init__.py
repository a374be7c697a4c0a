"""The Streamlit dashboard: a thin layer that calls `rota.services` and draws."""
