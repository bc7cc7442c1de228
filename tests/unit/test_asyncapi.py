"""docs/asyncapi.yaml is the contract between the teams that publish and consume events:
it must be exactly what `portal-asyncapi` makes of the code now, describe every
registered event, and its schemas and examples must be what the code really sends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from portal_devtools.asyncapi import DEFAULT_PATH, asyncapi_document, main, render
from portal_shared import topology
from portal_shared.events import PAYLOADS, decode, encode

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / DEFAULT_PATH


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document()


def test_the_committed_document_is_what_the_code_generates() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.yaml is out of date: run `.venv/bin/portal-asyncapi` and commit it"
    )
    assert yaml.safe_load(COMMITTED.read_text(encoding="utf-8")) == asyncapi_document()


def test_the_check_mode_tells_an_outdated_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "asyncapi.yaml"
    assert main([str(path), "--check"]) == 1
    assert main([str(path)]) == 0
    assert main([str(path), "--check"]) == 0
    path.write_text(path.read_text() + "# edited by hand\n")
    assert main([str(path), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def test_every_registered_event_has_a_message_on_its_routing_key(document: dict) -> None:
    assert document["asyncapi"] == "3.0.0"
    channels_by_address = {c["address"]: c for c in document["channels"].values()}
    for (event_type, version), model in PAYLOADS.items():
        message_id = f"{event_type}.v{version}"
        assert message_id in document["components"]["messages"]
        channel = channels_by_address[model.routing_key]
        assert message_id in channel["messages"]
        assert channel["bindings"]["amqp"] == {
            "is": "routingKey",
            "exchange": {"name": topology.EVENTS_EXCHANGE, "type": "topic", "durable": True,
                         "autoDelete": False, "vhost": "/"},
            "bindingVersion": "0.3.0",
        }


def test_publishing_is_persistent_and_mandatory_and_the_mailer_receives_its_keys(document: dict) -> None:
    sends = [op for op in document["operations"].values() if op["action"] == "send"]
    assert len(sends) == len({model.routing_key for model in PAYLOADS.values()})
    for operation in sends:
        assert operation["bindings"]["amqp"]["deliveryMode"] == 2
        assert operation["bindings"]["amqp"]["mandatory"] is True
    [receive] = [op for op in document["operations"].values() if op["action"] == "receive"]
    queue = resolve(document, receive["channel"]["$ref"])
    assert queue["address"] == topology.MAILER_QUEUE
    received_keys = {
        PAYLOADS[_key(resolve(document, ref["$ref"]))].routing_key for ref in receive["messages"]
    }
    assert received_keys == set(topology.MAILER_ROUTING_KEYS)


def test_every_reference_resolves(document: dict) -> None:
    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(document, node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    for operation in document["operations"].values():
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            # AsyncAPI 3: an operation's messages are messages of its own channel.
            assert message["$ref"].startswith(channel_ref + "/messages/")


@pytest.mark.parametrize("message_id", sorted(f"{t}.v{v}" for t, v in PAYLOADS))
def test_each_example_is_what_the_code_sends_and_the_schema_accepts(
    document: dict, message_id: str
) -> None:
    message = document["components"]["messages"][message_id]
    example = message["examples"][0]["payload"]

    event = decode(json.dumps(example).encode())  # the code's own decoder accepts it
    assert json.loads(encode(event)) == example  # and sends exactly this shape

    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    schema = {**message["payload"], "components": document["components"]}
    validator = jsonschema_rs.Draft7Validator(schema)
    assert validator.is_valid(example)
    # The schema is strict where the code is: unknown fields, wrong type, wrong version.
    assert not validator.is_valid({**example, "extra": 1})
    assert not validator.is_valid({**example, "payload": {**example["payload"], "extra": 1}})
    assert not validator.is_valid({**example, "schema_version": example["schema_version"] + 1})
    assert not validator.is_valid({k: v for k, v in example.items() if k != "event_id"})


def resolve(document: dict, ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return resolve(document, node["$ref"]) if "$ref" in node else node


def _key(message: dict) -> tuple[str, int]:
    example = message["examples"][0]["payload"]
    return example["event_type"], example["schema_version"]
