"""costcast's HTTP API (FastAPI): thin routes over ``forecast``; built with issue 5."""
