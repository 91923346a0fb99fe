"""Wire formats in, `models.Alert` out: one pure module per format, all failing the same way.

A body that can never be accepted raises `InvalidPayload`, which the web layer
answers with a 4xx so the sender stops retrying it (Alertmanager drops on 4xx).
"""

from __future__ import annotations


class InvalidPayload(Exception):
    """The body is wrong for good; `errors` holds one message per problem, each naming its field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
