"""Plain ASGI middleware shipped with Kettle; add them with ``app.add_middleware``.

::

    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])
"""

from kettle.middleware.cors import CORSMiddleware
from kettle.middleware.gzip import GZipMiddleware

__all__ = ["CORSMiddleware", "GZipMiddleware"]
