"""The parameters' schema and parsing: what an author declares is what Kiln is told and
what the function gets."""

import enum
from dataclasses import dataclass, field
from typing import Annotated, Any, Dict, List, Literal, NotRequired, Optional, TypedDict, Union

import pytest
from kiln_sdk import Error, parameter, schema_of
from kiln_sdk.parameters import camel_case, parse


class Protocol(enum.Enum):
    TCP = "TCP"
    UDP = "UDP"


@dataclass
class Port:
    """A port the service exposes."""

    port: int
    """The port number."""

    protocol: Protocol = Protocol.TCP


@dataclass
class Params:
    """Parameters of `webservice`."""

    image: str
    """Which image would you like to use for your service"""

    ports: List[Port] = field(default_factory=list)
    replicas: Annotated[int, "How many pods"] = 1
    cpu: Optional[str] = None
    ratio: float = 0.5
    exposure: Literal["ClusterIP", "NodePort"] = "ClusterIP"
    labels: Dict[str, str] = field(default_factory=dict)
    min_available: Union[int, str, None] = None
    class_: str = parameter(name="class", description="The class.", default="standard")
    extra: Any = None


def test_the_schema_follows_the_type_hints_docstrings_and_defaults():
    schema = schema_of(Params)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Params"
    assert schema["description"] == "Parameters of `webservice`."
    assert schema["type"] == "object"
    assert schema["required"] == ["image"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert list(props) == [
        "image",
        "ports",
        "replicas",
        "cpu",
        "ratio",
        "exposure",
        "labels",
        "minAvailable",
        "class",
        "extra",
    ]
    assert props["image"] == {
        "type": "string",
        "description": "Which image would you like to use for your service",
    }
    assert props["ports"] == {
        "type": "array",
        "items": {
            "description": "A port the service exposes.",
            "type": "object",
            "properties": {
                "port": {"type": "integer", "description": "The port number."},
                "protocol": {"enum": ["TCP", "UDP"], "default": "TCP"},
            },
            "required": ["port"],
            "additionalProperties": False,
        },
        "default": [],
    }
    assert props["replicas"] == {"type": "integer", "description": "How many pods", "default": 1}
    assert props["cpu"] == {"type": ["string", "null"]}
    assert props["ratio"] == {"type": "number", "default": 0.5}
    assert props["exposure"] == {"enum": ["ClusterIP", "NodePort"], "default": "ClusterIP"}
    assert props["labels"] == {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "default": {},
    }
    assert props["minAvailable"] == {"type": ["integer", "string", "null"]}
    assert props["class"] == {"type": "string", "description": "The class.", "default": "standard"}
    assert props["extra"] == {}


def test_properties_parse_into_the_dataclass():
    params = parse(
        Params,
        {
            "image": "nginx",
            "ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}],
            "replicas": 3.0,
            "ratio": 1,
            "labels": {"team": "a"},
            "minAvailable": "50%",
            "class": "gold",
        },
    )
    assert params == Params(
        image="nginx",
        ports=[Port(80), Port(53, Protocol.UDP)],
        replicas=3,
        ratio=1.0,
        labels={"team": "a"},
        min_available="50%",
        class_="gold",
    )
    assert isinstance(params.ratio, float) and isinstance(params.replicas, int)


@pytest.mark.parametrize(
    "properties, message",
    [
        ({}, 'image: missing field "image"'),
        ({"image": 1}, "image: expected a string, found the integer 1"),
        ({"image": "x", "replicas": True}, "replicas: expected an integer, found a boolean"),
        ({"image": "x", "replicas": 1.5}, "replicas: expected an integer, found the number 1.5"),
        (
            {"image": "x", "ports": [{"port": 80}, {"port": "http"}]},
            'ports[1].port: expected an integer, found the string "http"',
        ),
        (
            {"image": "x", "ports": [{"port": 80, "protocol": "SCTP"}]},
            'ports[0].protocol: expected one of "TCP", "UDP", found the string "SCTP"',
        ),
        ({"image": "x", "ports": [{}]}, 'ports[0].port: missing field "port"'),
        (
            {"image": "x", "imgae": "y"},
            'unknown field "imgae", expected one of "image", "ports", "replicas", "cpu", '
            '"ratio", "exposure", "labels", "minAvailable", "class", "extra"',
        ),
        (
            {"image": "x", "minAvailable": True},
            "minAvailable: expected an integer or a string or null, found a boolean",
        ),
        (
            {"image": "x", "labels": {"team": 1}},
            "labels.team: expected a string, found the integer 1",
        ),
        ("nginx", 'expected an object, found the string "nginx"'),
    ],
)
def test_a_value_the_types_do_not_take_names_its_field(properties, message):
    with pytest.raises(Error) as refused:
        parse(Params, properties)
    assert str(refused.value) == message


class Selector(TypedDict):
    """Pods to select."""

    app: str
    tier: NotRequired[str]


@dataclass
class WithTypedDict:
    selector: Selector


def test_a_typeddict_keeps_its_keys_and_its_required_ones():
    schema = schema_of(WithTypedDict)["properties"]["selector"]
    assert schema == {
        "description": "Pods to select.",
        "type": "object",
        "properties": {"app": {"type": "string"}, "tier": {"type": "string"}},
        "required": ["app"],
        "additionalProperties": False,
    }
    assert parse(WithTypedDict, {"selector": {"app": "a"}}) == WithTypedDict({"app": "a"})
    with pytest.raises(Error, match='selector.app: missing field "app"'):
        parse(WithTypedDict, {"selector": {"tier": "web"}})


def test_a_type_the_sdk_does_not_know_is_refused_when_declared():
    @dataclass
    class Bad:
        when: complex

    with pytest.raises(TypeError, match="not a parameter type"):
        schema_of(Bad)


def test_camel_case():
    assert camel_case("min_available") == "minAvailable"
    assert camel_case("image") == "image"
    assert camel_case("class_") == "class"
    assert camel_case("api_version_2") == "apiVersion2"
