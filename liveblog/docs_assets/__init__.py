"""Files of liveblog's own that the API reference at ``/docs`` serves (read with
:mod:`importlib.resources`; Swagger UI itself comes from the ``fastapi-offline`` package)."""
