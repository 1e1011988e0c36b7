"""Functions host route templates (`migrations/{id}`, `{name?}`, `{id:int}`, `{*rest}`) as regexes."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?(\??)\}")


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]

    @classmethod
    def compile(cls, template: str) -> Route:
        regex, pos = "", 0
        template = template.strip("/")
        for match in _PARAM.finditer(template):
            regex += re.escape(template[pos : match.start()])
            catch_all, name, optional = match.group(1), match.group(2), match.group(3)
            body = f"(?P<{name}>.+)" if catch_all else f"(?P<{name}>[^/]+)"
            if optional or catch_all:
                if regex.endswith("/"):
                    regex = regex[:-1] + f"(?:/{body})?"
                else:
                    regex += body + "?"
            else:
                regex += body
            pos = match.end()
        regex += re.escape(template[pos:])
        return cls(template, re.compile(f"^{regex}/?$", re.IGNORECASE))

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.match(path.strip("/"))
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}
