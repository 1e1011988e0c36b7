"""The generic table engine: create / update / delete / query any table described by metadata.

HTTP concerns (headers, status codes, URLs) live in `operations/`; this module only knows tables,
records and users, so `$batch`, bulk messages and single requests all share one code path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import errors, parties, rules
from .metadata import MetadataRegistry, TableMeta
from .odata_query import OrderBy, compile_filter, parse_filter
from .store import DuplicateKey, Store, column_sql
from .validation import Changes, LookupRef, Mode, validate_payload
from .values import format_datetime, new_guid, parse_guid, utcnow

LOOKUP_TYPES_KEY = "__lt"  # in stored documents: {lookup attribute: target logical name}
MAX_PAGE_SIZE = 5000
MAX_COUNT = 5000


@dataclass(frozen=True)
class Caller:
    """The application user a request runs as."""

    user_id: str
    business_unit_id: str


@dataclass
class QueryResult:
    rows: list[dict[str, Any]]
    total: int | None = None
    next_offset: int | None = None


@dataclass
class Annotations:
    """Which `Prefer: odata.include-annotations` groups were asked for."""

    formatted: bool = False
    lookups: bool = False

    @classmethod
    def from_prefer(cls, value: str | None) -> Annotations:
        if not value:
            return cls()
        wanted = [w.strip().strip('"') for w in value.split(",")]

        def match(name: str) -> bool:
            return any(w == "*" or w == name or (w.endswith("*") and name.startswith(w[:-1])) for w in wanted)

        return cls(
            formatted=match("OData.Community.Display.V1.FormattedValue"),
            lookups=match("Microsoft.Dynamics.CRM.lookuplogicalname"),
        )


@dataclass
class Engine:
    registry: MetadataRegistry
    store: Store
    now: Callable[[], Any] = field(default=utcnow)
    # Called with (table, record id, document) before every insert/replace (alternate keys, keys.py).
    write_hooks: list[Callable[[TableMeta, str, dict[str, Any]], None]] = field(default_factory=list)
    # Resolves `@odata.bind` values that are not `/<set>(<guid>)` (alternate keys) to (set, guid).
    bind_resolver: Callable[[str], tuple[str, str] | None] | None = None
    alternate_keys: Any = None  # keys.AlternateKeys, for UpsertMultiple items addressed by key
    # Whether a table was created through the metadata API (custom activities take every party type).
    is_custom_table: Callable[[str], bool] = field(default=lambda _logical: False)

    @property
    def sets_to_logical(self) -> dict[str, str]:
        return self.registry.sets_to_logical

    # --- writes -----------------------------------------------------------------------------------

    def validate(self, table: TableMeta, body: dict[str, Any], mode: Mode) -> Changes:
        body, party_list = parties.split(table, body)
        changes = validate_payload(table, body, mode, self.sets_to_logical, self.bind_resolver)
        if party_list is not None:
            custom = self.is_custom_table(table.logical_name)
            changes.parties = parties.validate(self, table, party_list, mode, custom)
        return changes

    def create(
        self,
        table: TableMeta,
        body: dict[str, Any],
        caller: Caller,
        *,
        record_id: str | None = None,
        mode: Mode = "create",
        bulk: bool = False,
    ) -> str:
        if table.logical_name == parties.PARTY_TABLE and mode != "seed":
            raise parties.not_supported("Create")
        changes = self.validate(table, body, mode)
        rid = record_id or changes.values.get(table.primary_id) or new_guid()
        if mode != "seed":
            rules.on_create(self, table, changes, rid)
        now = format_datetime(self.now())
        doc: dict[str, Any] = {LOOKUP_TYPES_KEY: {}}
        for attr in table.attributes.values():
            if attr.type == "Boolean" and isinstance(attr.default, bool):
                doc[attr.name] = attr.default
        state, status = table.state_attribute, table.status_attribute
        if state is not None:
            doc[state.name] = 0 if 0 in state.options or not state.options else min(state.options)
            if status is not None:
                doc[status.name] = state.default_status.get(doc[state.name])
        doc.update(changes.values)
        doc[table.primary_id] = rid
        if status is not None and state is not None and changes.values.get(status.name) is not None:
            doc[state.name] = status.state_of.get(changes.values[status.name], doc[state.name])
        self._apply_lookups(table, doc, changes.lookups, check=mode != "seed")
        if table.ownership == "UserOwned" and "ownerid" in table.attributes and not doc.get("_ownerid_value"):
            self._set_lookup(table, doc, "ownerid", "systemuser", caller.user_id)
        self._set_owning(table, doc, caller)
        created = changes.values.get("overriddencreatedon") or now
        if isinstance(created, str) and len(created) == 10:
            created = f"{created}T00:00:00Z"
        self._set(
            table,
            doc,
            "createdon",
            doc.get("createdon") if mode == "seed" and doc.get("createdon") else created,
        )
        self._set(
            table,
            doc,
            "modifiedon",
            doc.get("modifiedon") if mode == "seed" and doc.get("modifiedon") else now,
        )
        for who in ("createdby", "modifiedby"):
            if who in table.attributes and not doc.get(f"_{who}_value"):
                self._set_lookup(table, doc, who, "systemuser", caller.user_id)
        doc["versionnumber"] = self.store.next_version()
        for hook in self.write_hooks:
            hook(table, rid, doc)
        try:
            self.store.insert(table.logical_name, rid, doc)
        except DuplicateKey:
            raise errors.duplicate_record(bulk) from None
        if changes.parties is not None:
            parties.replace(self, table, rid, changes.parties)
        return rid

    def update(
        self,
        table: TableMeta,
        record_id: str,
        body: dict[str, Any],
        caller: Caller,
        *,
        existing: dict[str, Any] | None = None,
        if_match: str | None = None,
    ) -> dict[str, Any]:
        if table.logical_name == parties.PARTY_TABLE:
            raise parties.not_supported("Update")
        doc = existing if existing is not None else self.store.get(table.logical_name, record_id)
        if doc is None:
            raise errors.record_not_found(table.logical_name, record_id)
        self.check_etag(doc, if_match)
        changes = self.validate(table, body, "update")
        changes.values.pop(table.primary_id, None)
        rules.on_update(self, table, doc, changes, record_id)
        state, status = table.state_attribute, table.status_attribute
        doc.update(changes.values)
        if state is not None and status is not None:
            if state.name in changes.values and status.name not in changes.values:
                doc[status.name] = state.default_status.get(doc[state.name], doc.get(status.name))
            elif (
                status.name in changes.values
                and state.name not in changes.values
                and doc[status.name] is not None
            ):
                doc[state.name] = status.state_of.get(doc[status.name], doc.get(state.name))
        self._apply_lookups(table, doc, changes.lookups, check=True)
        if "ownerid" in changes.lookups:
            self._set_owning(table, doc, caller)
        self._set(table, doc, "modifiedon", format_datetime(self.now()))
        if "modifiedby" in table.attributes:
            self._set_lookup(table, doc, "modifiedby", "systemuser", caller.user_id)
        doc["versionnumber"] = self.store.next_version()
        for hook in self.write_hooks:
            hook(table, record_id, doc)
        self.store.replace(table.logical_name, record_id, doc)
        if changes.parties is not None:
            parties.replace(self, table, record_id, changes.parties)
        return doc

    def delete(self, table: TableMeta, record_id: str, if_match: str | None = None) -> None:
        if table.logical_name == parties.PARTY_TABLE:
            raise parties.not_supported("Delete")
        doc = self.store.get(table.logical_name, record_id)
        if doc is None:
            raise errors.record_not_found(table.logical_name, record_id)
        self.check_etag(doc, if_match)
        self.store.delete(table.logical_name, record_id)
        if table.is_activity:
            parties.delete_for(self, record_id)

    @staticmethod
    def check_etag(doc: dict[str, Any], if_match: str | None) -> None:
        if if_match and if_match.strip() != "*":
            tags = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
            if str(doc.get("versionnumber")) not in tags:
                raise errors.version_mismatch()

    def _set(self, table: TableMeta, doc: dict[str, Any], name: str, value: Any) -> None:
        if name in table.attributes:
            doc[name] = value

    def _set_lookup(
        self, table: TableMeta, doc: dict[str, Any], attr: str, target: str | None, target_id: str | None
    ) -> None:
        if attr not in table.attributes:
            return
        doc[f"_{attr}_value"] = target_id
        types = doc.setdefault(LOOKUP_TYPES_KEY, {})
        if target_id is None:
            types.pop(attr, None)
        else:
            types[attr] = target

    def _set_owning(self, table: TableMeta, doc: dict[str, Any], caller: Caller) -> None:
        owner_type = doc.get(LOOKUP_TYPES_KEY, {}).get("ownerid")
        owner_id = doc.get("_ownerid_value")
        if owner_id is None:
            return
        self._set_lookup(
            table, doc, "owninguser", "systemuser", owner_id if owner_type == "systemuser" else None
        )
        self._set_lookup(table, doc, "owningteam", "team", owner_id if owner_type == "team" else None)
        bu = caller.business_unit_id
        if owner_type == "systemuser":
            user = self.store.get("systemuser", owner_id)
            bu = (user or {}).get("_businessunitid_value") or bu
        self._set_lookup(table, doc, "owningbusinessunit", "businessunit", bu)

    def _apply_lookups(
        self, table: TableMeta, doc: dict[str, Any], lookups: dict[str, LookupRef], check: bool
    ) -> None:
        for ref in lookups.values():
            if ref.target is not None and ref.target_id is not None and check:
                target_doc = self.store.get(ref.target, ref.target_id)
                if target_doc is None:
                    raise errors.record_not_found(ref.target, ref.target_id)
                if ref.attribute == "ownerid" and ref.target == "systemuser" and target_doc.get("isdisabled"):
                    raise errors.user_disabled(ref.target_id)
            self._set_lookup(table, doc, ref.attribute, ref.target, ref.target_id)

    # --- reads ------------------------------------------------------------------------------------

    def get(self, table: TableMeta, record_id: str) -> dict[str, Any]:
        doc = self.store.get(table.logical_name, record_id)
        if doc is None:
            raise errors.record_not_found(table.logical_name, record_id)
        return doc

    def resolver(self, table: TableMeta) -> Callable[[str], tuple[str, Any]]:
        def resolve(name: str) -> tuple[str, Any]:
            if name == table.primary_id:
                return "id", None
            attr = table.readable.get(name)
            if attr is None:
                raise errors.property_not_found(name, table.logical_name)
            return column_sql(name), attr

        return resolve

    def query(
        self,
        table: TableMeta,
        *,
        filter_text: str | None,
        orderby: list[OrderBy],
        top: int | None,
        page_size: int,
        offset: int,
        count: bool,
    ) -> QueryResult:
        params: list[Any] = []
        where = "1"
        if filter_text:
            where = compile_filter(parse_filter(filter_text), self.resolver(table), params)
        resolve = self.resolver(table)
        order_parts = []
        for ob in orderby:
            expr, attr = resolve(ob.prop)
            collate = " COLLATE NOCASE" if attr is not None and attr.type in ("String", "Memo") else ""
            # SQL Server sorts NULL first ascending, like SQLite.
            order_parts.append(f"{expr}{collate} {'DESC' if ob.descending else 'ASC'}")
        order_parts.append("id ASC")
        limit = page_size
        if top is not None:
            limit = max(0, min(page_size, top - offset))
        rows = self.store.query(table.logical_name, where, params, ", ".join(order_parts), limit + 1, offset)
        more = len(rows) > limit
        rows = rows[:limit]
        if top is not None and offset + len(rows) >= top:
            more = False
        total = min(self.store.count(table.logical_name, where, params), MAX_COUNT) if count else None
        return QueryResult(rows, total, offset + len(rows) if more else None)

    # --- serialization ----------------------------------------------------------------------------

    def serialize(
        self,
        table: TableMeta,
        doc: dict[str, Any],
        select: list[str] | None,
        annotations: Annotations | None = None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": f'W/"{doc.get("versionnumber")}"'}
        names = list(select) if select else list(table.readable)
        if table.primary_id not in names:
            names.append(table.primary_id)
        types = doc.get(LOOKUP_TYPES_KEY, {})
        ann = annotations or Annotations()
        for name in names:
            value = doc.get(name)
            attr = table.readable.get(name)
            if attr is not None and value is not None and ann.formatted:
                label = None
                if attr.type in ("Picklist", "State", "Status"):
                    label = attr.options.get(value)
                elif attr.type == "Boolean":
                    label = attr.bool_labels.get(int(value))
                elif attr.type in ("Money", "Integer", "Decimal", "Double", "BigInt"):
                    label = f"{value:,}"
                if label is not None:
                    out[f"{name}@OData.Community.Display.V1.FormattedValue"] = label
            if attr is not None and attr.is_lookup and value is not None and ann.lookups:
                target = types.get(attr.name)
                out[f"{name}@Microsoft.Dynamics.CRM.associatednavigationproperty"] = attr.nav.get(
                    target, attr.name
                )
                out[f"{name}@Microsoft.Dynamics.CRM.lookuplogicalname"] = target
            out[name] = value
        return out


def parse_key(text: str) -> str | None:
    return parse_guid(text)
