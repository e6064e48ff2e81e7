"""Slipway's Python client: a notebook's way to a running `slipway serve`.

Standard library only (Python 3.9+); pandas is used when it is installed and
asked for. Every call is one HTTP API operation (docs/http-api.md), with the
same meaning as the CLI's and the Go client's::

    from slipway import Client
    sw = Client("http://127.0.0.1:8080")
    sw.online_features(["opens_30d:v1", "avg_order_value"], ["sub_354"])

Errors the server answers are raised as SlipwayError, carrying its status,
code, message and request id.
"""

from .client import Client, JobFailedError, SlipwayError

__all__ = ["Client", "JobFailedError", "SlipwayError"]
__version__ = "0.1.0"
