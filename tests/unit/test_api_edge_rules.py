"""The shared HTTP edge's small decisions: which log records are a client's broken
request (one warning line) and which stay as they are."""

from __future__ import annotations

import logging
import sys

from aiohttp.http_exceptions import ContentEncodingError
from aiohttp.web_protocol import RequestPayloadError

from portal_shared.web import ClientBodyErrors


def record_for(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:  # noqa: BLE001 - to get exc_info as a logger would
        exc_info = sys.exc_info()
    return logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1,
                             "Unhandled exception", None, exc_info)


def chained_payload_error() -> RequestPayloadError:
    try:
        try:
            raise ContentEncodingError("Can not decode content-encoding: gzip")
        except ContentEncodingError as cause:
            raise RequestPayloadError("Can not decode content-encoding: gzip") from cause
    except RequestPayloadError as error:
        return error


def test_a_broken_body_becomes_one_warning_line_without_traceback() -> None:
    record = record_for(RuntimeError("while draining"))
    record.exc_info = record_for(chained_payload_error()).exc_info

    assert ClientBodyErrors().filter(record)

    assert (record.levelno, record.levelname) == (logging.WARNING, "WARNING")
    assert record.exc_info is None
    assert record.getMessage() == "unreadable request from the client (RequestPayloadError); answered 400"


def test_a_real_error_keeps_its_level_and_traceback() -> None:
    record = record_for(KeyError("bug"))

    assert ClientBodyErrors().filter(record)

    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.getMessage() == "Unhandled exception"
