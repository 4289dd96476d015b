"""The HTTP layer under :class:`SemaphoreClient`: one request with retries, errors, decoding.

Foreign errors stop here: httpx errors become :class:`TransportError`, error statuses become the
matching :class:`ApiError`, bodies that do not validate become :class:`DecodeError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from semaphore_client.errors import (
    ApiError,
    DecodeError,
    PromotionRefused,
    SemaphoreError,
    TransportError,
    error_for_status,
)
from semaphore_client.retry import RetryPolicy, is_retryable_status, parse_retry_after

T = TypeVar("T")
Params = Mapping[str, str | int]
#: Told of every request sent: its endpoint (`GET /pipelines/:id`) and its result (the
#: status code, or `transport` when no answer came).
Observer = Callable[[str, str], None]
#: A path segment that names one object: a UUID or an id with digits in it.
_ID = re.compile(r"^(?=.*\d)[0-9A-Za-z_-]{8,}$")


def endpoint(method: str, path: str) -> str:
    """`GET /pipelines/:id` for `GET /pipelines/0f3c…`: what metrics count requests by."""
    parts = [":id" if _ID.match(part) else part for part in path.split("?")[0].split("/")]
    return f"{method} {'/'.join(parts)}"


def server_message(response: httpx.Response) -> str:
    """The server's text from an error body: a JSON string, ``{"message": …}`` or plain text."""
    text = response.text.strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text or response.reason_phrase
    if isinstance(data, str):
        return data
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return text


def decode(response: httpx.Response, adapter: TypeAdapter[T]) -> T:
    """Validate a 2xx body against ``adapter``; anything else is a :class:`DecodeError`."""
    try:
        return adapter.validate_json(response.content)
    except (ValidationError, ValueError) as exc:
        raise DecodeError(
            f"unexpected body from {response.request.method} {response.request.url.path}: {exc}",
            status=response.status_code,
        ) from exc


def _api_error(response: httpx.Response, refusal: bool) -> ApiError:
    message = server_message(response)
    if refusal and response.status_code == 400:
        return PromotionRefused(message, status=400)
    return error_for_status(response.status_code, message)


class ApiSession:
    """Sends requests to one base URL with auth headers, time-outs and retries."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        headers: Mapping[str, str],
        timeout: httpx.Timeout,
        retry: RetryPolicy,
        observe: Observer | None = None,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers)
        self.timeout = timeout
        self.retry = retry
        self.observe = observe

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json_body: Any = None,
        retry: bool = True,
        refusal: bool = False,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """Send, retrying connection errors, time-outs, 429 and 5xx when ``retry`` is set.

        Only idempotent calls pass ``retry=True`` (a promotion trigger is idempotent through
        its ``request_token``). ``refusal`` maps a 400 to :class:`PromotionRefused`.
        """
        attempts = self.retry.attempts if retry else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = await self._send(method, path, params, json_body, timeout)
            except TransportError:
                if last:
                    raise
                await self.retry.sleep(self.retry.delay(attempt))
                continue
            if response.is_success:
                return response
            if last or not is_retryable_status(response.status_code):
                raise _api_error(response, refusal)
            after = parse_retry_after(response.headers.get("retry-after"))
            await self.retry.sleep(self.retry.delay(attempt, after))
        raise SemaphoreError("unreachable: retry loop ended without an answer")

    async def _send(
        self,
        method: str,
        path: str,
        params: Params | None,
        json_body: Any,
        timeout: httpx.Timeout | None,
    ) -> httpx.Response:
        try:
            response = await self.http.request(
                method,
                self.base_url + path,
                params=dict(params) if params else None,
                json=json_body,
                headers=self.headers,
                timeout=timeout or self.timeout,
            )
        except httpx.HTTPError as exc:
            if self.observe is not None:
                self.observe(endpoint(method, path), "transport")
            raise TransportError(f"{method} {path} failed: {exc!r}") from exc
        if self.observe is not None:
            self.observe(endpoint(method, path), str(response.status_code))
        return response

    async def get(self, path: str, adapter: TypeAdapter[T], params: Params | None = None) -> T:
        return decode(await self.request("GET", path, params=params), adapter)

    async def paginate(
        self, path: str, adapter: TypeAdapter[list[T]], params: Params
    ) -> AsyncIterator[T]:
        """Yield every item of a page-numbered list, following ``link: <…>; rel="next"``.

        Only the next link's query string is used: the server builds links from its own
        host with ``http://``, which behind an ingress is not the URL we talk to.
        """
        current: dict[str, str | int] = dict(params)
        while True:
            response = await self.request("GET", path, params=current)
            for item in decode(response, adapter):
                yield item
            following = _next_page_params(response)
            if following is None or following == {k: str(v) for k, v in current.items()}:
                return
            current = dict(following)


def _next_page_params(response: httpx.Response) -> dict[str, str] | None:
    link = response.links.get("next")
    if not link or not link.get("url"):
        return None
    return dict(httpx.URL(link["url"]).params)
