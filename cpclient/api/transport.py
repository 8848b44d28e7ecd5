"""HTTPS on `requests`: the OS certificate store (truststore), timeouts on every call, capped answers.

`Transport.request` returns an `Answer` (status, lower-case headers, body bytes) or raises an
`ApiError` for a transport problem. It never follows redirects, never reads proxy or CA settings
from the environment (the managed policy decides the server and the CA bundle), asks the server
not to compress (so a small answer cannot expand into a huge one), and stops reading an answer that
is larger than `max_body_bytes` or takes longer than `total_timeout` seconds in all.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import truststore
from requests.adapters import HTTPAdapter

from cpclient.api.errors import (
    ApiError,
    BadResponse,
    CertificateRejected,
    ConnectionFailed,
    TimedOut,
)
from cpclient.api.server_url import check_server_url

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 2 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
USER_AGENT = "cpclient/0.1"


def api_base(server_url: str) -> str:
    """The API base (`.../api/v1`) for a server URL, after checking that it is safe to use.

    Raises:
        UnsafeServerUrl: what `server_url_problem` finds wrong with it.
    """
    check_server_url(server_url)
    parts = urlsplit(server_url.strip())
    path = parts.path.rstrip("/")
    if not path.endswith(API_PREFIX):
        path += API_PREFIX
    return f"{parts.scheme}://{parts.netloc}{path}"


class TruststoreAdapter(HTTPAdapter):
    """An adapter whose TLS context trusts the OS certificate store, plus an optional CA bundle."""

    def __init__(self, ca_bundle: str | None = None) -> None:
        self._ca_bundle = ca_bundle
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self._ca_bundle:
            context.load_verify_locations(cafile=self._ca_bundle)
        kwargs["ssl_context"] = context
        super().init_poolmanager(*args, **kwargs)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, headers with lower-case names, and the whole (capped) body."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Transport:
    """Sends requests to one server.

    Args:
        server_url: the server (https, or http on loopback); `/api/v1` is added when missing.
        ca_bundle: a PEM file of extra CA certificates to trust (from the managed policy).
        connect_timeout: seconds to wait for a connection.
        read_timeout: seconds to wait for each piece of the answer.
        total_timeout: seconds an answer may take in all.
        max_body_bytes: the largest answer accepted.
    """

    def __init__(
        self,
        server_url: str,
        *,
        ca_bundle: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        total_timeout: float = 60.0,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = api_base(server_url)
        self.timeout = (connect_timeout, read_timeout)
        self.total_timeout = total_timeout
        self.max_body_bytes = max_body_bytes
        self._session = requests.Session()
        # The managed policy, not the environment, decides proxies and trusted certificates.
        self._session.trust_env = False
        adapter = TruststoreAdapter(ca_bundle)
        self._session.mount("https://", adapter)
        self._session.mount("http://", HTTPAdapter(max_retries=0))
        self._session.headers.update(
            {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "identity"}
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def request(self, method: str, path: str, *, json: Any = None, token: str | None = None) -> Answer:
        """Send one request and read the whole answer.

        Raises:
            ApiError: `ConnectionFailed`, `CertificateRejected`, `TimedOut`, or `BadResponse` for
                an answer that is too large or cut short.
        """
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        failure: ApiError | None = None
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                json=json,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            with response:
                return self._read(response)
        except ApiError:
            raise
        except requests.exceptions.SSLError:
            failure = CertificateRejected()
        except requests.exceptions.Timeout:
            failure = TimedOut()
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            failure = BadResponse()
        except requests.exceptions.RequestException:
            failure = ConnectionFailed()
        except (OSError, ValueError):
            failure = ConnectionFailed()
        # Raised here, outside the handlers, so no library exception (which may quote a URL or a
        # body) is chained to ours.
        raise failure

    def _read(self, response: requests.Response) -> Answer:
        started = time.monotonic()
        headers = {name.lower(): value for name, value in response.headers.items()}
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise BadResponse(status=response.status_code)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(CHUNK_BYTES):
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BadResponse(status=response.status_code)
            if time.monotonic() - started > self.total_timeout:
                raise TimedOut(status=response.status_code)
            chunks.append(chunk)
        return Answer(response.status_code, headers, b"".join(chunks))
