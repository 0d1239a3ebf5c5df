"""An item as a row of its type's Parquet schema, checked before anything is written.

A row that does not fit its schema must fail where the item is processed, with a message
naming the field, not later in a writer thread where the whole part would be lost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

import pyarrow as pa
from itemadapter import ItemAdapter

from crawler.policy.decision import ALLOW, DENY, ITEM, Decision
from pipelines.schema import ITEM_SCHEMAS


class ItemSchemaError(ValueError):
    """An item does not fit the Parquet schema of its item type."""


def _python_types(type_: pa.DataType) -> tuple[type, ...] | None:
    """Python types accepted for an Arrow type in an item (None: not checked)."""
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return (str,)
    if pa.types.is_boolean(type_):
        return (bool,)
    if pa.types.is_integer(type_):
        return (int,)
    if pa.types.is_floating(type_):
        return (int, float)
    if pa.types.is_timestamp(type_):
        return (datetime,)
    if pa.types.is_list(type_) or pa.types.is_large_list(type_):
        return (list, tuple)
    if pa.types.is_struct(type_):
        return (Mapping,)
    return None


@lru_cache(maxsize=64)
def _dataclass_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


_CHECKS: dict[int, tuple[frozenset[str], tuple[str, ...], dict[str, tuple[type, ...]]]] = {}


def _checks(schema: pa.Schema) -> tuple[frozenset[str], tuple[str, ...], dict[str, tuple[type, ...]]]:
    """Per schema, once: its names, its required fields, and the Python types each takes
    (keyed by identity — the schemas are module constants — since hashing an Arrow schema
    walks every field)."""
    found = _CHECKS.get(id(schema))
    if found is not None:
        return found
    required = tuple(f.name for f in schema if not f.nullable)
    typed = {f.name: t for f in schema if (t := _python_types(f.type)) is not None}
    found = _CHECKS[id(schema)] = (frozenset(schema.names), required, typed)
    return found


def item_row(item: Any, policy_hash: str) -> dict[str, Any]:
    """The item as a row of its type's schema; :class:`ItemSchemaError` if it does not fit.

    Fills ``policy_hash`` and ``optout_decision`` (``allow``) when the item has none. The
    row is shallow (nested values are the item's own): it is converted, not kept.
    """
    if not ItemAdapter.is_item(item):
        raise ItemSchemaError(f"not an item: {type(item).__name__}")
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        row = {name: getattr(item, name) for name in _dataclass_fields(type(item))}
    elif isinstance(item, Mapping):
        row = dict(item)
    else:
        adapter = ItemAdapter(item)
        row = {name: adapter[name] for name in adapter.keys() if name in adapter}
    item_type = row.get("item_type")
    schema = ITEM_SCHEMAS.get(item_type) if isinstance(item_type, str) else None
    if schema is None:
        raise ItemSchemaError(f"unknown item_type {item_type!r}; known: {sorted(ITEM_SCHEMAS)}")
    names, required, typed = _checks(schema)
    unknown = sorted(set(row) - names)
    if unknown:
        raise ItemSchemaError(f"{item_type} item has fields not in the {item_type} schema: {unknown}")
    if "policy_hash" in names and not row.get("policy_hash"):
        row["policy_hash"] = policy_hash
    if "optout_decision" in names and not row.get("optout_decision"):
        row["optout_decision"] = ALLOW
    missing = [name for name in required if row.get(name) is None]
    if missing:
        raise ItemSchemaError(f"{item_type} item {row.get('item_id')!r} lacks required fields: {missing}")
    for name, value in row.items():
        accepted = typed.get(name) if value is not None else None
        if accepted is None:
            continue
        if not isinstance(value, accepted) or (value.__class__ is bool and bool not in accepted):
            raise ItemSchemaError(
                f"{item_type} item {row.get('item_id')!r}: field {name!r} must be "
                f"{schema.field(name).type}, got {type(value).__name__}"
            )
    return row


def dropped_decision(item: Any, exception: BaseException | None, response_url: str = "") -> Decision:
    """The ``item``-stage deny for a dropped item: the exception's ``reason_code`` (a code or
    a list of codes), else ``validate:<ExceptionName>``."""
    adapter = ItemAdapter(item) if ItemAdapter.is_item(item) else None

    def field(name: str) -> Any:
        return adapter.get(name) if adapter is not None else None

    code = getattr(exception, "reason_code", None)
    if isinstance(code, str) and code:
        reasons: tuple[str, ...] = (code,)
    elif isinstance(code, (list, tuple)) and code:
        reasons = tuple(str(c) for c in code)
    else:
        reasons = (f"validate:{type(exception).__name__ if exception is not None else 'unknown'}",)
    status, item_type, item_id = field("http_status"), field("item_type"), field("item_id")
    return Decision(
        verdict=DENY, stage=ITEM, url=str(field("page_url") or response_url), reasons=reasons,
        http_status=status if isinstance(status, int) else None,
        item_type=str(item_type) if item_type is not None else None,
        item_id=str(item_id) if item_id is not None else None,
    )


__all__ = ["ItemSchemaError", "dropped_decision", "item_row"]
