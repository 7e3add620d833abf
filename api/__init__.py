"""The costcast HTTP API: thin FastAPI routes over ``forecast``. Start it with ``costcast serve``."""
