"""JSON Schemas (draft 2020-12) of the control API's results (docs/api.md).

``RESULTS[method]`` is the schema of ``reply["result"]``; ``REPLY`` of a whole reply line.
Plain data: the test suite validates live replies against them.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_INT: Schema = {"type": "integer", "minimum": 0}
_OPT_INT: Schema = {"type": ["integer", "null"], "minimum": 0}
_STR: Schema = {"type": "string"}
_OPT_STR: Schema = {"type": ["string", "null"]}
_BOOL: Schema = {"type": "boolean"}
_STRS: Schema = {"type": "array", "items": _STR}
_COUNTS: Schema = {"type": "object", "additionalProperties": _INT}


def _obj(props: Schema, *, extra: bool = False) -> Schema:
    return {
        "type": "object",
        "properties": props,
        "required": sorted(props),
        "additionalProperties": extra,
    }


STATES = ["Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"]
SHORT_STATES = ["Idle", "Connect", "Active", "Sent", "Confirm", "Establ", "Idle(Admin)",
                "Idle(PfxCt)"]

_PREFIXES = _obj({"received": _INT, "accepted": _INT, "advertised": _INT})

NEIGHBOR_FIELDS: Schema = {
    "address": _STR,
    "peer_as": _INT,
    "state": {"enum": STATES},
    "short_state": {"enum": SHORT_STATES},
    "admin_down": _BOOL,
    "pfx_limit_down": _BOOL,
    "dynamic": _BOOL,
    "peer_group": _OPT_STR,
    "rr_client": _BOOL,
    "uptime": _OPT_INT,
    "downtime": _OPT_INT,
    "prefixes": _PREFIXES,
}
NEIGHBOR = _obj(NEIGHBOR_FIELDS)

NEGOTIATED = _obj(
    {
        "router_id": _STR,
        "hold_time": _INT,
        "keepalive": _INT,
        "families": _STRS,
        "addpath_receive": _STRS,
        "addpath_send": _STRS,
        "capabilities": _STRS,
    }
)

NEIGHBOR_DETAIL = _obj(
    {
        **NEIGHBOR_FIELDS,
        "local_as": _INT,
        "description": _STR,
        "passive": _BOOL,
        "remote_port": _INT,
        "local_address": _STR,
        "cluster_id": _OPT_STR,
        "families": _STRS,
        "timers": _obj(
            {
                "hold_time": _INT,
                "keepalive_interval": {"type": "number"},
                "connect_retry": {"type": "number"},
                "idle_hold_time_after_reset": {"type": "number"},
            }
        ),
        "negotiated": {"anyOf": [NEGOTIATED, {"type": "null"}]},
        "messages": _obj({"received": _COUNTS, "sent": _COUNTS}),
        "last_error": _STR,
        "prefixes": _obj(
            {
                "received": _INT,
                "accepted": _INT,
                "advertised": _INT,
                "announced_total": _INT,
                "withdrawn_total": _INT,
                "duplicates": _INT,
                "looped": _INT,
                "as_loop": _INT,
                "treat_as_withdraw": _INT,
                "rejected": _INT,
            }
        ),
    }
)

ATTR_FIELDS: Schema = {
    "next_hop": _STR,
    "as_path": _STR,
    "origin": {"enum": ["i", "e", "?", None]},
    "med": _OPT_INT,
    "local_pref": _OPT_INT,
    "communities": _STRS,
    "large_communities": _STRS,
    "originator_id": _OPT_STR,
    "cluster_list": _STRS,
}
PATH_FIELDS: Schema = {
    **ATTR_FIELDS,
    "best": _BOOL,
    "stale": _BOOL,
    "path_id": _INT,
    "age": _OPT_INT,
}
PATH = _obj({**PATH_FIELDS, "source": _STR})
ROUTE = _obj({"prefix": _STR, "paths": {"type": "array", "items": PATH, "minItems": 1}})
ADJ_IN = _obj({**PATH_FIELDS, "source": _STR, "prefix": _STR})
ADJ_OUT = _obj({**PATH_FIELDS, "prefix": _STR})

_FAMILY_SUMMARY = _obj(
    {"destinations": _INT, "paths": _INT, "local": _INT, "update_groups": _INT}
)
RIB_SUMMARY = _obj(
    {
        "families": _obj({"ipv4": _FAMILY_SUMMARY, "ipv6": _FAMILY_SUMMARY}),
        "attribute_sets": _INT,
    }
)
OK = _obj({"ok": {"const": True}})

RESTART = _obj(
    {
        "phase": {"enum": ["deferring", "sending", "done"]},
        "waiting_for": _STRS,
        "peers": _INT,
        "deferral_left": _OPT_INT,
    }
)
READINESS = _obj(
    {
        "ready": _BOOL,
        "reason": _OPT_STR,
        "restart": {"anyOf": [RESTART, {"type": "null"}]},
        "warnings": _STRS,
    }
)
GLOBAL = _obj(
    {
        "version": _STR,
        "pid": _INT,
        "router_id": _STR,
        "local_as": _INT,
        "cluster_id": _STR,
        "config": _OPT_STR,
        "listen_port": {"type": "integer", "minimum": -1},
        "listen_addresses": _STRS,
        "restarting": _BOOL,
        "uptime": _INT,
        "neighbors": _INT,
        "readiness": READINESS,
    }
)


CHAIN = _obj(
    {
        "policies": _STRS,
        "default": {"enum": ["accept-route", "reject-route"]},
    }
)
POLICY = _obj({"source": {"enum": ["global", "neighbor"]}, "import": CHAIN, "export": CHAIN})
NEIGHBOR_POLICY = _obj(
    {
        "address": _STR,
        "source": {"enum": ["global", "neighbor"]},
        "import": CHAIN,
        "export": CHAIN,
    }
)


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


RESULTS: dict[str, Schema] = {
    "ping": _obj({"version": _STR}),
    "global.get": GLOBAL,
    "neighbor.list": _array(NEIGHBOR),
    "neighbor.get": NEIGHBOR_DETAIL,
    "neighbor.add": NEIGHBOR_DETAIL,
    "neighbor.delete": OK,
    "neighbor.reset": OK,
    "neighbor.softresetin": OK,
    "neighbor.softresetout": OK,
    "neighbor.shutdown": OK,
    "neighbor.disable": OK,
    "neighbor.enable": OK,
    "neighbor.adj_in": _array(ADJ_IN),
    "neighbor.adj_out": _array(ADJ_OUT),
    "neighbor.policy": NEIGHBOR_POLICY,
    "global.policy": POLICY,
    "rib.get": _array(ROUTE),
    "rib.summary": RIB_SUMMARY,
    "route.add": OK,
    "route.delete": OK,
    "config.reload": OK,
}

ERROR = _obj(
    {
        "code": {"enum": ["bad_request", "not_found", "exists", "unavailable", "internal"]},
        "message": _STR,
    }
)
REPLY: Schema = {
    "oneOf": [
        _obj({"id": {}, "result": {}}),
        _obj({"id": {}, "error": ERROR}),
    ]
}


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is(value: object, name: str) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    return isinstance(value, _TYPES[name])


def errors(value: object, s: Schema, where: str = "$") -> list[str]:
    """Where ``value`` breaks schema ``s`` (the subset of JSON Schema used here:
    type, properties, required, additionalProperties, items, minItems, minimum, enum,
    const, anyOf, oneOf); empty when it conforms."""
    out: list[str] = []
    if "type" in s:
        names = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(_is(value, n) for n in names):
            return [f"{where}: {value!r} is not of type {'/'.join(names)}"]
    if "const" in s and value != s["const"]:
        out.append(f"{where}: {value!r} is not {s['const']!r}")
    if "enum" in s and value not in s["enum"]:
        out.append(f"{where}: {value!r} is not one of {s['enum']}")
    if "minimum" in s and isinstance(value, int | float) and value < s["minimum"]:
        out.append(f"{where}: {value!r} is below {s['minimum']}")
    if "anyOf" in s and all(errors(value, sub, where) for sub in s["anyOf"]):
        out.append(f"{where}: matches none of anyOf")
    if "oneOf" in s and sum(not errors(value, sub, where) for sub in s["oneOf"]) != 1:
        out.append(f"{where}: does not match exactly one of oneOf")
    if isinstance(value, dict):
        props: Schema = s.get("properties", {})
        for name in s.get("required", []):
            if name not in value:
                out.append(f"{where}: missing {name!r}")
        for name, item in value.items():
            if name in props:
                out.extend(errors(item, props[name], f"{where}.{name}"))
            elif s.get("additionalProperties") is False:
                out.append(f"{where}: unexpected {name!r}")
            elif isinstance(s.get("additionalProperties"), dict):
                out.extend(errors(item, s["additionalProperties"], f"{where}.{name}"))
    if isinstance(value, list):
        if len(value) < s.get("minItems", 0):
            out.append(f"{where}: fewer than {s['minItems']} items")
        if "items" in s:
            for i, item in enumerate(value):
                out.extend(errors(item, s["items"], f"{where}[{i}]"))
    return out


def validate(value: object, s: Schema) -> None:
    """Raise ValueError listing every place where ``value`` breaks ``s``."""
    problems = errors(value, s)
    if problems:
        raise ValueError("; ".join(problems))
