"""A definition's parameters: their JSON Schema (2020-12), derived from a ``dataclass`` or
``TypedDict``, and their parsing from the user's properties with errors that name the field.

The schema is what ``kiln definitions show`` and the editor schema print, and what Kiln
checks the properties against before the definition runs. The parser is the second line: it
gives the function typed values, and names the field of anything the schema let through
that the types do not take.

What a type becomes:

==============================  ===========================================================
Python                          JSON Schema
==============================  ===========================================================
``int``, ``float``, ``str``,    ``integer``, ``number``, ``string``, ``boolean``, ``null``
``bool``, ``None``
``list[T]``, ``dict[str, T]``   ``array`` of T, ``object`` of T
``Optional[T]``, ``A | B``      ``anyOf``
``Literal["a", "b"]``, ``Enum`` ``enum`` of the values
a ``dataclass``                 ``object``: fields in camelCase (``min_available`` is
                                ``minAvailable``; :func:`parameter` names one otherwise),
                                required unless they have a default, no other property
a ``TypedDict``                 ``object``: keys as written, required as ``total`` says
``Any``                         anything
``Annotated[T, "text"]``        T, described by the text
==============================  ===========================================================

Descriptions come from the class's docstring and from each field's attribute docstring
(a string literal on the line after it), as the Rust SDK takes doc comments.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import inspect
import textwrap
import types
import typing
from typing import Any, Dict, Optional, Tuple

from .errors import Error

_NONE = type(None)

#: The ``metadata`` key of :func:`parameter`'s options in a dataclass field.
_META = "kiln"


def parameter(
    *,
    name: Optional[str] = None,
    description: Optional[str] = None,
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field with a JSON name other than its camelCase one, or a description
    other than its docstring.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Params:
    ...     class_: str = parameter(name="class", default="standard")
    >>> schema_of(Params)["properties"]["class"]
    {'type': 'string', 'default': 'standard'}
    """
    options = {"name": name, "description": description}
    return dataclasses.field(
        default=default, default_factory=default_factory, metadata={_META: options}
    )


def camel_case(name: str) -> str:
    """``min_available`` is ``minAvailable``; a trailing ``_`` (``class_``) is dropped."""
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def schema_of(params: Any) -> Dict[str, Any]:
    """The JSON Schema (2020-12) Kiln is told for parameters of type ``params``."""
    schema: Dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema["title"] = getattr(params, "__name__", "Parameters")
    schema.update(_schema(params))
    return schema


def parse(params: Any, value: Any) -> Any:
    """The user's properties (parsed JSON) as ``params``, or an :class:`Error` naming the
    parameter path (``ports[0].port``) of the first value the type does not take."""
    return _convert(params, value, "")


# --- types ------------------------------------------------------------------------------


def _strip(tp: Any) -> Tuple[Any, Optional[str]]:
    """``tp`` without ``Annotated``, and the description an ``Annotated`` string gave."""
    description = None
    while typing.get_origin(tp) is typing.Annotated:
        tp, *extras = typing.get_args(tp)
        texts = [e for e in extras if isinstance(e, str)]
        if texts:
            description = texts[0]
    return tp, description


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _hints(cls: Any) -> Dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _docstring(cls: Any) -> Optional[str]:
    doc = cls.__dict__.get("__doc__")
    # A dataclass without a docstring gets its signature as one.
    if not doc or (dataclasses.is_dataclass(cls) and doc.startswith(cls.__name__ + "(")):
        return None
    return inspect.cleandoc(doc)


def _attribute_docs(cls: Any) -> Dict[str, str]:
    """Each field's attribute docstring: the string literal on the line after it."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    docs: Dict[str, str] = {}
    body = ast.parse(source).body[0]
    if not isinstance(body, ast.ClassDef):
        return docs
    statements = body.body
    for statement, following in zip(statements, statements[1:], strict=False):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = inspect.cleandoc(following.value.value)
    return docs


class _Field(typing.NamedTuple):
    attribute: str
    key: str
    type: Any
    required: bool
    default: Any
    description: Optional[str]


@functools.cache
def _fields(cls: Any) -> Tuple[_Field, ...]:
    """The object fields of a dataclass or TypedDict, in declaration order.

    Kept per class: finding the attribute docstrings reads and parses the class's source,
    which parsing the properties of every render must not repeat. The decorator derives
    the schema at build time, so a component's snapshot holds them already."""
    hints = _hints(cls)
    docs = _attribute_docs(cls)
    out = []
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            options = f.metadata.get(_META, {})
            tp, described = _strip(hints[f.name])
            if f.default is not dataclasses.MISSING:
                required, default = False, f.default
            elif f.default_factory is not dataclasses.MISSING:
                required, default = False, f.default_factory()
            else:
                required, default = True, dataclasses.MISSING
            description = options.get("description") or described or docs.get(f.name)
            key = options.get("name") or camel_case(f.name)
            out.append(_Field(f.name, key, tp, required, default, description))
        return tuple(out)
    required_keys = getattr(cls, "__required_keys__", frozenset(hints))
    for name, hint in hints.items():
        tp, described = _strip(hint)
        # `Required[T]`/`NotRequired[T]` are only markers here; `__required_keys__` says.
        while typing.get_origin(tp) in (typing.Required, typing.NotRequired):
            (tp,) = typing.get_args(tp)
            tp, described = _strip(tp)
        description = described or docs.get(name)
        out.append(_Field(name, name, tp, name in required_keys, dataclasses.MISSING, description))
    return tuple(out)


def _is_object_type(tp: Any) -> bool:
    return isinstance(tp, type) and (dataclasses.is_dataclass(tp) or typing.is_typeddict(tp))


# --- schema -----------------------------------------------------------------------------


def _schema(hint: Any) -> Dict[str, Any]:
    tp, description = _strip(hint)
    schema = _type_schema(tp)
    if description:
        schema = {**schema, "description": description}
    return schema


_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", _NONE: "null"}


def _type_schema(tp: Any) -> Dict[str, Any]:
    if tp is Any:
        return {}
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is_union(tp):
        members = [_schema(a) for a in args]
        # `Optional[int]` reads best as {"type": ["integer", "null"]}.
        plain = [m.get("type") for m in members if set(m) == {"type"}]
        if len(plain) == len(members) and all(isinstance(t, str) for t in plain):
            return {"type": plain}
        return {"anyOf": members}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (list, typing.List, tuple) or tp in (list, typing.List):
        if origin is tuple:
            raise TypeError("tuples are not parameter types: use list[T]")
        return {"type": "array", "items": _schema(args[0]) if args else {}}
    if origin in (dict, typing.Dict) or tp in (dict, typing.Dict):
        if args and args[0] is not str:
            raise TypeError("the keys of a dict parameter must be str")
        return {
            "type": "object",
            "additionalProperties": _schema(args[1]) if args else {},
        }
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [member.value for member in tp]}
    if _is_object_type(tp):
        return _object_schema(tp)
    raise TypeError(f"{tp!r} is not a parameter type Kiln's Python SDK knows")


def _object_schema(cls: Any) -> Dict[str, Any]:
    schema: Dict[str, Any] = {}
    description = _docstring(cls)
    if description:
        schema["description"] = description
    schema["type"] = "object"
    properties: Dict[str, Any] = {}
    required = []
    for f in _fields(cls):
        prop = _schema(f.type)
        if f.description:
            prop = {**prop, "description": f.description}
        # A `None` default only says "optional", which `required` already does.
        if f.default is not dataclasses.MISSING and f.default is not None:
            prop = {**prop, "default": _json_default(f.default)}
        properties[f.key] = prop
        if f.required:
            required.append(f.key)
    schema["properties"] = properties
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def _json_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.key: _json_default(getattr(value, f.attribute)) for f in _fields(type(value))}
    if isinstance(value, (list, tuple)):
        return [_json_default(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_default(v) for k, v in value.items()}
    return value


# --- parsing ----------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f'the string "{value}"' if len(value) <= 40 else "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _expected(tp: Any) -> str:
    tp, _ = _strip(tp)
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
    if tp in names:
        return names[tp]
    if tp is _NONE:
        return "null"
    if _is_union(tp):
        return " or ".join(_expected(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is typing.Literal:
        return "one of " + ", ".join(_quote(a) for a in typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(_quote(m.value) for m in tp)
    if typing.get_origin(tp) in (list, typing.List) or tp is list:
        return "an array"
    return "an object"


def _quote(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _fail(path: str, message: str) -> Error:
    return Error.field(path, message) if path else Error(message)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(hint: Any, value: Any, path: str) -> Any:
    tp, _ = _strip(hint)
    if tp is Any:
        return value
    if tp is _NONE:
        if value is None:
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif _is_union(tp):
        for member in typing.get_args(tp):
            try:
                return _convert(member, value, path)
            except Error:
                continue
    elif typing.get_origin(tp) is typing.Literal:
        if any(value == a and type(value) is type(a) for a in typing.get_args(tp)):
            return value
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        for member in tp:
            if member.value == value and type(member.value) is type(value):
                return member
    elif typing.get_origin(tp) in (list, typing.List) or tp is list:
        if isinstance(value, list):
            (item,) = typing.get_args(tp) or (Any,)
            return [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    elif typing.get_origin(tp) in (dict, typing.Dict) or tp is dict:
        if isinstance(value, dict):
            _, item = typing.get_args(tp) or (str, Any)
            return {k: _convert(item, v, _join(path, k)) for k, v in value.items()}
    elif _is_object_type(tp):
        if isinstance(value, dict):
            return _convert_object(tp, value, path)
    else:
        raise TypeError(f"{tp!r} is not a parameter type Kiln's Python SDK knows")
    raise _fail(path, f"expected {_expected(tp)}, found {_json_type(value)}")


def _convert_object(cls: Any, value: Dict[str, Any], path: str) -> Any:
    fields = _fields(cls)
    by_key = {f.key: f for f in fields}
    for key in value:
        if key not in by_key:
            known = ", ".join(f'"{f.key}"' for f in fields) or "none"
            raise _fail(path, f'unknown field "{key}", expected one of {known}')
    converted = {}
    for f in fields:
        if f.key in value:
            converted[f.attribute] = _convert(f.type, value[f.key], _join(path, f.key))
        elif f.required:
            raise _fail(_join(path, f.key), f'missing field "{f.key}"')
    if dataclasses.is_dataclass(cls):
        return cls(**converted)
    return converted
