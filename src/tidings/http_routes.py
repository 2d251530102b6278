"""FastAPI route classes that answer chosen exceptions in a gateway's own shape.

A lost database connection (``Unavailable``) or a body the JSON reader refused
can surface from any endpoint of a router; each gateway wants one answer for it,
in its own error shape, without a ``try`` in every endpoint. An exception handler
on the app would be shared by every gateway, so the answer lives on the route
class the gateway's router uses instead.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

Answer = Callable[[Any], Response]


def route_class_answering(answers: Mapping[type[Exception], Answer]) -> type[APIRoute]:
    """An ``APIRoute`` subclass whose endpoints answer each exception type in
    ``answers`` (checked in order, subclasses included) with its function's response."""
    pairs = tuple(answers.items())

    class AnsweringRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def answered(request: Request) -> Response:
                try:
                    return await handler(request)
                except Exception as exc:
                    for kind, answer in pairs:
                        if isinstance(exc, kind):
                            return answer(exc)
                    raise

            return answered

    return AnsweringRoute
