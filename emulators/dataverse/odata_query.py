"""OData system query options: a `$filter` parser and its translation to SQLite, plus `$select`/`$orderby`.

The parser is pure (string → AST) so it can be unit-tested without a server; `compile_filter` turns
the AST into a SQL expression over the JSON document column, given a resolver that maps Web API
property names to metadata (unknown names fail the way Dataverse does, 0x80060888).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import errors
from .metadata import AttributeMeta, TableMeta
from .values import format_datetime, parse_datetime

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
FUNCTIONS = ("contains", "startswith", "endswith")
_SQL_OPS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_FLIP = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})"
_TOKEN = re.compile(
    rf"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<guid>{_GUID})(?![\w-])
  | (?P<datetime>{_DATETIME})
  | (?P<date>\d{{4}}-\d{{2}}-\d{{2}})(?![\w:])
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)(?![\w.])
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<ident>[A-Za-z_][\w.]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Literal:
    """A constant; `kind` is one of string, number, guid, datetime, date, boolean, null."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Compare:
    op: str
    prop: str
    literal: Literal


@dataclass(frozen=True)
class Function:
    name: str
    prop: str
    literal: Literal


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Compare | Function | And | Or | Not


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise _syntax(text, pos)
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


def _syntax(text: str, pos: int) -> errors.DataverseError:
    return errors.query_syntax(f"Syntax error at position {pos} in '{text}'.")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> Token:
        tok = self.peek()
        if tok is None or (kind and tok.kind != kind) or (text and tok.text != text):
            raise _syntax(self.text, tok.pos if tok else len(self.text))
        self.i += 1
        return tok

    def at_keyword(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "ident" and tok.text == word

    def parse(self) -> Node:
        if not self.tokens:
            raise _syntax(self.text, 0)
        node = self.parse_or()
        if self.peek() is not None:
            raise _syntax(self.text, self.tokens[self.i].pos)
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.at_keyword("or"):
            self.i += 1
            node = Or(node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.at_keyword("and"):
            self.i += 1
            node = And(node, self.parse_not())
        return node

    def parse_not(self) -> Node:
        if self.at_keyword("not"):
            self.i += 1
            return Not(self.parse_not())
        return self.parse_primary()

    def parse_primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise _syntax(self.text, len(self.text))
        if tok.kind == "lparen":
            self.i += 1
            node = self.parse_or()
            self.take("rparen")
            return node
        if tok.kind == "ident" and tok.text in FUNCTIONS:
            nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
            if nxt is not None and nxt.kind == "lparen":
                self.i += 2
                prop = self.take("ident").text
                self.take("comma")
                literal = self.parse_literal()
                self.take("rparen")
                return Function(tok.text, prop, literal)
        left = self.parse_operand()
        op_tok = self.take("ident")
        if op_tok.text not in COMPARISONS:
            raise _syntax(self.text, op_tok.pos)
        right = self.parse_operand()
        if isinstance(left, str) and isinstance(right, Literal):
            return Compare(op_tok.text, left, right)
        if isinstance(left, Literal) and isinstance(right, str):
            return Compare(_FLIP[op_tok.text], right, left)
        raise errors.query_syntax(
            f"The $filter comparison at position {op_tok.pos} must compare a property with a literal "
            "(the emulator does not support property-to-property comparisons)."
        )

    def parse_operand(self) -> str | Literal:
        tok = self.peek()
        if tok is not None and tok.kind == "ident" and tok.text not in ("null", "true", "false"):
            self.i += 1
            return tok.text
        return self.parse_literal()

    def parse_literal(self) -> Literal:
        tok = self.take()
        if tok.kind == "string":
            return Literal("string", tok.text[1:-1].replace("''", "'"))
        if tok.kind == "number":
            raw = tok.text.rstrip("mMdDfFlL")
            value: Any = int(raw) if re.fullmatch(r"-?\d+", raw) else Decimal(raw)
            return Literal("number", value)
        if tok.kind == "guid":
            return Literal("guid", tok.text.lower())
        if tok.kind == "datetime":
            return Literal("datetime", parse_datetime(tok.text))
        if tok.kind == "date":
            return Literal("date", tok.text)
        if tok.kind == "ident" and tok.text == "null":
            return Literal("null", None)
        if tok.kind == "ident" and tok.text in ("true", "false"):
            return Literal("boolean", tok.text == "true")
        raise _syntax(self.text, tok.pos)


def parse_filter(text: str) -> Node:
    return _Parser(text).parse()


# --- translation to SQL ---------------------------------------------------------------------------

Resolver = Callable[[str], tuple[str, AttributeMeta | None]]
"""Maps a Web API property name to (SQL expression, attribute metadata or None for the primary key)."""


def _literal_kind_ok(attr: AttributeMeta | None, lit: Literal) -> bool:
    if lit.kind == "null":
        return True
    t = attr.type if attr else "Uniqueidentifier"
    if t is None:
        return True
    if t in ("String", "Memo", "EntityName"):
        return lit.kind == "string"
    if t in ("Integer", "Picklist", "State", "Status", "BigInt"):
        return lit.kind == "number" and isinstance(lit.value, int)
    if t in ("Decimal", "Money", "Double"):
        return lit.kind == "number"
    if t == "Boolean":
        return lit.kind == "boolean"
    if t in ("Uniqueidentifier", "Lookup", "Customer", "Owner"):
        return lit.kind == "guid"
    if t == "DateTime":
        return lit.kind in ("datetime", "date")
    return lit.kind == "string"


_LITERAL_EDM = {
    "string": "Edm.String",
    "number": "Edm.Int32",
    "guid": "Edm.Guid",
    "datetime": "Edm.DateTimeOffset",
    "date": "Edm.Date",
    "boolean": "Edm.Boolean",
}

_OP_KIND = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}


def _sql_value(attr: AttributeMeta | None, lit: Literal) -> Any:
    if lit.kind == "boolean":
        return 1 if lit.value else 0
    if lit.kind == "number":
        return lit.value if isinstance(lit.value, int) else float(lit.value)
    if lit.kind == "datetime":
        value: datetime = lit.value
        if attr is not None and attr.is_date_only:
            return value.date().isoformat()
        return format_datetime(value)
    if lit.kind == "date":
        if attr is not None and attr.is_date_only:
            return lit.value
        return f"{lit.value}T00:00:00Z"
    return lit.value


def compile_filter(node: Node, resolve: Resolver, params: list[Any]) -> str:
    if isinstance(node, And | Or):
        left = compile_filter(node.left, resolve, params)
        right = compile_filter(node.right, resolve, params)
        return f"({left} {'AND' if isinstance(node, And) else 'OR'} {right})"
    if isinstance(node, Not):
        return (
            f"(NOT {compile_filter(node.operand, resolve, params)})"  # NULL stays excluded, like SQL Server
        )
    expr, attr = resolve(node.prop)
    is_text = attr is not None and attr.type in ("String", "Memo", "EntityName", None)
    if isinstance(node, Function):
        if not is_text or node.literal.kind != "string":
            raise errors.query_syntax(
                f"The '{node.name}' function requires a string property and a string literal; "
                f"'{node.prop}' is {attr.edm_type if attr else 'Edm.Guid'}."
            )
        escaped = str(node.literal.value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {"contains": f"%{escaped}%", "startswith": f"{escaped}%", "endswith": f"%{escaped}"}[
            node.name
        ]
        params.append(pattern)
        return f"({expr} LIKE ? ESCAPE '\\')"
    lit = node.literal
    if not _literal_kind_ok(attr, lit):
        found = _LITERAL_EDM.get(lit.kind, "Edm.String")
        if lit.kind == "number" and not isinstance(lit.value, int):
            found = "Edm.Decimal"
        raise errors.query_syntax(
            "A binary operator with incompatible types was detected. Found operand types "
            f"'{attr.edm_type if attr else 'Edm.Guid'}' and '{found}' for operator kind "
            f"'{_OP_KIND[node.op]}'."
        )
    if lit.kind == "null":
        if node.op == "eq":
            return f"({expr} IS NULL)"
        if node.op == "ne":
            return f"({expr} IS NOT NULL)"
        return "(0)"
    params.append(_sql_value(attr, lit))
    collate = " COLLATE NOCASE" if is_text else ""
    return f"({expr} {_SQL_OPS[node.op]} ?{collate})"


# --- $select / $orderby ---------------------------------------------------------------------------


def parse_select(text: str, table: TableMeta) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name != table.primary_id and name not in table.readable:
            raise errors.property_not_found(name, table.logical_name)
    return names


@dataclass(frozen=True)
class OrderBy:
    prop: str
    descending: bool


def parse_orderby(text: str, table: TableMeta) -> list[OrderBy]:
    out: list[OrderBy] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            raise errors.query_syntax(f"Syntax error in $orderby '{text}'.")
        bits = part.split()
        if len(bits) > 2 or (len(bits) == 2 and bits[1] not in ("asc", "desc")):
            raise errors.query_syntax(f"Syntax error in $orderby '{text}'.")
        name = bits[0]
        if name != table.primary_id and name not in table.readable:
            raise errors.property_not_found(name, table.logical_name)
        out.append(OrderBy(name, len(bits) == 2 and bits[1] == "desc"))
    return out
