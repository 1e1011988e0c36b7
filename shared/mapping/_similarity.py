"""Name similarity between a source field and a Dataverse column, for the proposer.

Source names come in every spelling (`c_industryVertical`, `custom.cf_abc` labelled "Lead Source",
`Contract Value`, `date_of_birth`); Dataverse logical names are run together in lowercase
(`leadsourcecode`, `numberofemployees`). Both sides become *terms*: words, with run-together names
segmented against a vocabulary, and every word or adjacent run of words that a synonym group knows
replaced by the group. Similarity is the best of a synonym-aware token Jaccard and a character ratio.

    name_similarity("c_industryVertical", "industrycode")   # ≈ 0.67
    name_similarity("date_of_birth", "birthdate")            # 1.0 (synonym group "birthdate")
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import cache

SYNONYMS: dict[str, tuple[str, ...]] = {
    # group → compact spellings (words run together, lowercase). Data, not code: extend freely.
    "phone": ("phone", "telephone", "tel", "phonenumber", "officephone", "workphone", "businessphone"),
    "mobile": ("mobile", "mobilephone", "cell", "cellphone", "cellular", "mobilenumber", "handy"),
    "email": ("email", "emailaddress", "mail", "emailaddr"),
    "website": ("website", "websiteurl", "url", "homepage", "web", "site", "webaddress"),
    "company": ("company", "organization", "organisation", "org", "companyname", "employer", "firm"),
    "account": ("account", "customer", "client"),
    "postalcode": ("postalcode", "zip", "zipcode", "postcode", "plz"),
    "stateorprovince": ("stateorprovince", "state", "province", "region", "county"),
    "city": ("city", "town", "locality"),
    "country": ("country", "countrycode", "nation"),
    "street": ("line", "street", "streetaddress", "addressline", "addressline1"),
    "jobtitle": ("jobtitle", "title", "position", "role", "jobrole", "designation"),
    "revenue": (
        "revenue",
        "annualrevenue",
        "annualsales",
        "annualturnover",
        "turnover",
        "yearlyrevenue",
        "sales",
    ),
    "employees": (
        "employees",
        "numberofemployees",
        "headcount",
        "employeecount",
        "staff",
        "companysize",
        "staffcount",
        "noofemployees",
    ),
    "industry": ("industry", "industrycode", "sector", "vertical", "industryvertical", "branche"),
    "leadsource": (
        "leadsource",
        "leadsourcecode",
        "source",
        "referralsource",
        "origin",
        "channel",
        "acquisitionchannel",
        "howdidyouhear",
        "referredby",
    ),
    "birthdate": ("birthdate", "birthday", "dateofbirth", "dob", "born", "geburtsdatum"),
    "anniversary": ("anniversary", "weddingdate", "weddinganniversary"),
    "gender": ("gender", "gendercode", "sex"),
    "spouse": ("spouse", "spousesname", "spousename", "husband", "wife"),
    "firstname": ("firstname", "givenname", "forename", "vorname"),
    "lastname": ("lastname", "surname", "familyname", "nachname"),
    "middlename": ("middlename", "middleinitial"),
    "nickname": ("nickname", "preferredname", "alias"),
    "salutation": ("salutation", "honorific", "prefix"),
    "department": ("department", "dept", "division", "team"),
    "fax": ("fax", "faxnumber"),
    "creditlimit": ("creditlimit", "credit"),
    "description": (
        "description",
        "notes",
        "note",
        "comments",
        "comment",
        "remarks",
        "about",
        "bio",
        "summary",
        "details",
    ),
    "budget": ("budget", "budgetamount", "maxbudget"),
    "closedate": (
        "closedate",
        "estimatedclosedate",
        "expectedclose",
        "expectedclosedate",
        "closingdate",
        "targetclose",
    ),
    "value": (
        "value",
        "amount",
        "estimatedvalue",
        "dealvalue",
        "dealamount",
        "dealsize",
        "contractvalue",
        "worth",
    ),
    "probability": ("probability", "closeprobability", "likelihood", "winprobability", "chance"),
    "rating": ("rating", "ratingcode", "grade", "score", "temperature"),
    "priority": ("priority", "prioritycode", "urgency"),
    "accountnumber": ("accountnumber", "customernumber", "customerid", "clientnumber", "accountno"),
    "tickersymbol": ("tickersymbol", "ticker", "stocksymbol"),
    "stockexchange": ("stockexchange", "exchange", "listedon"),
    "sic": ("sic", "siccode", "naics"),
    "ownership": ("ownership", "ownershipcode", "ownershiptype", "legalform"),
    "assistant": ("assistant", "assistantname", "pa"),
    "manager": ("manager", "managername", "boss", "reportsto"),
    "donotemail": ("donotemail", "emailoptout", "unsubscribed", "optout", "noemail"),
    "donotphone": ("donotphone", "donotcall", "nocall", "dnc"),
    "donotbulkemail": ("donotbulkemail", "nonewsletter", "marketingoptout"),
    "preferredcontact": (
        "preferredcontactmethod",
        "preferredcontactmethodcode",
        "contactpreference",
        "preferredchannel",
    ),
    "education": ("education", "educationcode", "degree", "qualification"),
    "marital": ("familystatus", "familystatuscode", "maritalstatus", "civilstatus"),
    "children": ("numberofchildren", "kids", "children", "childcount"),
    "twitter": ("twitter", "primarytwitterid", "twitterhandle", "xhandle"),
    "timeframe": ("purchasetimeframe", "timeframe", "timeline", "buyingtimeframe"),
    "need": ("need", "customerneed", "requirement", "requirements", "painpoint", "painpoints"),
}


def _wordlist(text: str) -> frozenset[str]:
    return frozenset(text.split())


SEGMENT_WORDS = _wordlist(
    "address annual account amount anniversary assistant bulk budget business by call callback "
    "card category children city classification close code company composite contact country "
    "county credit currency customer date decision department description do donot email employee "
    "employees estimated exchange external family fax first follow freight ftp gender government "
    "home hold income industry initial job last lead line limit manager market marketing method "
    "middle mobile name need nick not number of on opt ownership pager payment phone postal "
    "preferred priority probability province purchase qualification quality rating revenue sales "
    "salutation score segment shares shipping site size source spouse stage state status stock "
    "suffix symbol telephone terms territory ticker time timeframe title twitter type url value "
    "website birth day zone upsz process id satori outstanding "
)
"""Words that run-together logical names are cut into (plus every spelling in SYNONYMS)."""

NOISE = _wordlist(
    "code id the of a an is or cf c custom new x field fld cust usr u udf text txt address msdyn "
    "number no num nr primary secondary main alternate alt other additional "
)
"""Tokens that carry no meaning in a field name (type suffixes, custom-field prefixes)."""

_PREFIXES = ("custom.", "customfields.", "custom_fields.", "cf_", "c_", "x_", "new_", "udf_", "cust_")
_CAMEL = re.compile(r"(?<=[a-zß-ÿ0-9])(?=[A-ZÀ-Þ])|(?<=[A-ZÀ-Þ])(?=[A-ZÀ-Þ][a-zß-ÿ])")
_SPLIT = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+$")


def strip_prefixes(name: str) -> str:
    """`custom.cf_abc` → `abc`, `c_industryVertical` → `industryVertical`, `Foo__c` → `Foo`."""
    s = name.strip()
    changed = True
    while changed:
        changed = False
        for p in _PREFIXES:
            if s.lower().startswith(p) and len(s) > len(p):
                s, changed = s[len(p) :], True
    return s[:-3] if s.endswith("__c") else s


def words(name: str) -> list[str]:
    """Lowercase words of a name in snake_case, camelCase, PascalCase, dotted or spaced form.

    A run-together lowercase word (`leadsourcecode`) is cut into vocabulary words where it can be.
    """
    out: list[str] = []
    for part in _SPLIT.split(_CAMEL.sub(" ", strip_prefixes(name))):
        if not part:
            continue
        low = part.lower()
        stem = _DIGITS.sub("", low) or low  # emailaddress1 → emailaddress
        out.extend(segment(stem) if part.islower() or part.isupper() else [stem])
    return out


@cache
def _vocabulary() -> frozenset[str]:
    return SEGMENT_WORDS | {s for spellings in SYNONYMS.values() for s in spellings if len(s) <= 12}


@cache
def segment(word: str) -> list[str]:
    """Cut `numberofemployees` into `number of employees`: fewest pieces covering the most letters."""
    vocab = _vocabulary()
    if word in vocab or len(word) <= 3:
        return [word]
    n = len(word)
    # best[i] = (uncovered letters, pieces) for word[:i]
    best: list[tuple[int, int, list[str]]] = [(0, 0, [])] + [(n + 1, 0, [])] * n
    for i in range(1, n + 1):
        for j in range(max(0, i - 20), i):
            piece = word[j:i]
            cost = 0 if piece in vocab else len(piece)
            cand = (best[j][0] + cost, best[j][1] + 1, best[j][2] + [piece])
            if (cand[0], cand[1]) < (best[i][0], best[i][1]):
                best[i] = cand
    uncovered, _, pieces = best[n]
    if uncovered > n // 3:
        return [word]
    merged: list[str] = []  # glue runs of unknown letters back together
    for p in pieces:
        if merged and p not in vocab and merged[-1] not in vocab:
            merged[-1] += p
        else:
            merged.append(p)
    return merged


@cache
def _group_of() -> dict[str, str]:
    return {s: group for group, spellings in SYNONYMS.items() for s in spellings}


def terms(name: str) -> frozenset[str]:
    """The meaningful terms of a name: synonym groups (`=group`) for every known word or run of
    words, the remaining words as themselves; noise words dropped."""
    ws = [w[:-1] if len(w) > 4 and w.endswith("s") and w[:-1] in _vocabulary() else w for w in words(name)]
    groups = _group_of()
    used = [False] * len(ws)
    out: set[str] = set()
    for size in (4, 3, 2, 1):  # longest runs first: "date of birth" before "date"
        for i in range(len(ws) - size + 1):
            if any(used[i : i + size]):
                continue
            run = "".join(ws[i : i + size])
            g = groups.get(run) or groups.get(run + "s")
            if g:
                out.add(f"={g}")
                used[i : i + size] = [True] * size
    out.update(w for w, u in zip(ws, used, strict=True) if not u and w not in NOISE)
    return frozenset(out)


def compact(name: str, drop: frozenset[str] = frozenset()) -> str:
    return "".join(w for w in words(name) if w not in NOISE and w not in drop)


CHAR_WEIGHT = 0.75
"""How far character likeness alone can carry a match (it cannot tell `dealtype` from `ordertype`)."""


def name_similarity(source: str, target: str, context: str | None = None) -> float:
    """0..1: how alike two names are once spelling, prefixes and synonyms are set aside.

    `context` is the target table: its name says nothing about a column (`accountcategorycode` on
    account is about a category), so it is set aside on both sides.
    """
    drop = frozenset({context}) if context else frozenset()
    ctx = terms(context) - {context} if context else frozenset()
    a, b = terms(source) - drop - ctx, terms(target) - drop - ctx
    if not a or not b:
        return 0.0
    jaccard = len(a & b) / len(a | b)
    # the source's terms all within the column's count for a lot ("industry" → industrycode); the
    # column's within the source's less: the extra source word often names another thing
    # ("emergency phone" is not telephone2)
    if a & b and a <= b:
        jaccard = max(jaccard, 0.75)
    elif a & b and b <= a and len(a - b) == 1:
        jaccard = max(jaccard, 0.55)
    ca, cb = compact(source, drop), compact(target, drop)
    chars = SequenceMatcher(None, ca, cb).ratio() if ca and cb else 0.0
    return round(max(jaccard, CHAR_WEIGHT * chars), 4)


__all__ = ["SYNONYMS", "compact", "name_similarity", "segment", "strip_prefixes", "terms", "words"]
