"""Dedupe lookups (X2-04): one `$filter` per batch of keys — an OR of ANDs kept within URL limits —
paged, each row once; string literals escaped."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import httpx

from shared.dataverse._match import condition, filters, find_matching
from tests.unit.shared.dataverse.helpers import make_client


def test_X2_04_a_key_is_an_and_of_its_columns_with_quotes_doubled() -> None:
    assert condition({"name": "O'Brien & Co"}) == "name eq 'O''Brien & Co'"
    assert condition({"name": "Acme", "websiteurl": "https://acme.example"}) == (
        "(name eq 'Acme' and websiteurl eq 'https://acme.example')"
    )


def test_X2_04_keys_batch_into_or_filters_that_fit_the_url_budget() -> None:
    keys = [{"name": f"Company {n:04d}", "websiteurl": f"https://c{n}.example"} for n in range(400)]
    out = filters(keys, max_chars=2000)
    assert len(out) > 1
    assert all(len(quote(f, safe="")) <= 2000 for f in out)
    joined = " or ".join(out)
    assert all(condition(k) in joined for k in keys)  # every key asked exactly once …
    assert sum(f.count(" or ") + 1 for f in out) == 400
    assert filters(keys[:1] * 3) == [condition(keys[0])]  # … and a repeated key once


def test_X2_04_one_request_per_batch_following_next_links_each_row_once() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        q = parse_qs(urlsplit(str(request.url)).query)
        if "$skiptoken" in q:  # the second page of the first filter
            return httpx.Response(200, json={"value": [{"accountid": "B", "name": "b", "createdon": "x"}]})
        seen.append(q["$filter"][0])
        assert q["$select"] == ["accountid,name,createdon"]
        value = [{"accountid": "A", "name": "a", "createdon": "x"}]
        body = {"value": value}
        if len(seen) == 1:
            body["@odata.nextLink"] = f"{request.url}&$skiptoken=p2"
        return httpx.Response(200, json=body)

    keys = [{"name": f"n{i:03d}" + "x" * 40} for i in range(60)]
    with make_client(handler, []) as dv:
        rows = find_matching(dv, "accounts", "accountid", keys, max_chars=1000)
    assert len(seen) == len(filters(keys, 1000)) > 1
    assert sorted(r["accountid"] for r in rows) == ["A", "B"]
