"""The Streamlit layer: the entry point, cached wrappers, navigation, components.

Everything that imports Streamlit lives here (or in the top-level pages/); the
domain modules in dashboard/ never do (checked by import-linter, .importlinter).
"""
