"""The dashboard's pages: Streamlit scripts that dashboard/app.py runs by path (st.navigation). Being a
package lets mypy and import-linter (the contracts in pyproject.toml) check them by name.
"""
