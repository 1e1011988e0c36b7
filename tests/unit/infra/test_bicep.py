"""Structural checks on infra/main.bicep, its example parameters and docs/deploy.md.

No Bicep compiler is available to CI, so these read the Bicep text: a small brace matcher splits
it into resource blocks, and each security property is checked inside the resource it belongs to.
When `pycep-parser` (a Python Bicep parser) is installed, the file is also parsed as a syntax check.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BICEP = ROOT / "infra" / "main.bicep"
PARAMS = ROOT / "infra" / "main.parameters.json"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"

ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}

_RESOURCE_HEAD = re.compile(
    r"^resource\s+(?P<sym>\w+)\s+'(?P<type>[\w./]+)@(?P<version>[\w-]+)'\s*=\s*(?:if\s*\(.*?\)\s*)?(?P<loop>\[)?",
    re.MULTILINE,
)


def _strip_comments(text: str) -> str:
    """Drop // and /* */ comments, leaving string literals (which may hold '//') alone."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _block_from(text: str, start: int) -> str:
    """The text of the {...} block whose opening brace is the first one at or after start."""
    open_at = text.index("{", start)
    depth, i, in_str = 0, open_at, False
    while i < len(text):
        c = text[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == "'":
                in_str = False
        elif c == "'":
            in_str = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[open_at : i + 1]
        i += 1
    raise AssertionError(f"unbalanced braces after offset {start}")


@cache
def bicep_text() -> str:
    return _strip_comments(BICEP.read_text(encoding="utf-8"))


@cache
def resources() -> dict[str, tuple[str, str]]:
    """symbolic name -> (resource type, body text)."""
    text = bicep_text()
    found: dict[str, tuple[str, str]] = {}
    for m in _RESOURCE_HEAD.finditer(text):
        found[m.group("sym")] = (m.group("type"), _block_from(text, m.end()))
    return found


def resources_of_type(rtype: str) -> list[str]:
    return [body for t, body in resources().values() if t.lower() == rtype.lower()]


def only_resource_of_type(rtype: str) -> str:
    bodies = resources_of_type(rtype)
    assert len(bodies) == 1, f"expected exactly one {rtype}, found {len(bodies)}"
    return bodies[0]


def has_property(body: str, name: str, value: str) -> bool:
    return re.search(rf"^\s*{re.escape(name)}\s*:\s*{re.escape(value)}\s*$", body, re.MULTILINE) is not None


def app_settings_in_bicep() -> set[str]:
    bodies = [
        body
        for t, body in resources().values()
        if t == "Microsoft.Web/sites/config" and re.search(r"name:\s*'appsettings'", body)
    ]
    assert len(bodies) == 1, "expected one Microsoft.Web/sites/config 'appsettings' resource"
    props = _block_from(bodies[0], bodies[0].index("properties:"))
    return set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:", props, re.MULTILINE))


def app_settings_in_docs() -> set[str]:
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    m = re.search(r"^## App settings\s*$(.*?)(?=^## )", doc, re.MULTILINE | re.DOTALL)
    assert m, "docs/deploy.md needs an '## App settings' section"
    rows = re.findall(r"^\|\s*`([A-Za-z_][A-Za-z0-9_]*)`\s*\|", m.group(1), re.MULTILINE)
    assert rows, "the App settings section has no table rows"
    return set(rows)


# --- the parser itself ---------------------------------------------------------------------------


def test_splitter_finds_every_resource_declaration():
    declared = re.findall(r"^resource\s+\w+", bicep_text(), re.MULTILINE)
    assert len(resources()) == len(declared) > 10


def test_bicep_parses_when_pycep_is_installed():
    pycep = pytest.importorskip("pycep", reason="pycep-parser not installed; syntax parse skipped")
    parsed = pycep.BicepParser().parse(file_path=BICEP)
    assert set(parsed["resources"]) == set(resources())


# --- function app --------------------------------------------------------------------------------


def test_function_app_is_https_only_with_tls12_and_no_ftp():
    site = only_resource_of_type("Microsoft.Web/sites")
    assert has_property(site, "httpsOnly", "true")
    assert has_property(site, "minTlsVersion", "'1.2'")
    assert has_property(site, "scmMinTlsVersion", "'1.2'")
    assert has_property(site, "ftpsState", "'Disabled'")


def test_function_app_is_linux_flex_consumption_python_311():
    site = only_resource_of_type("Microsoft.Web/sites")
    assert has_property(site, "kind", "'functionapp,linux'")
    runtime = _block_from(site, site.index("runtime:"))
    assert has_property(runtime, "name", "'python'")
    assert has_property(runtime, "version", "'3.11'")
    plan = only_resource_of_type("Microsoft.Web/serverfarms")
    assert has_property(plan, "name", "'FC1'")
    assert has_property(plan, "tier", "'FlexConsumption'")
    assert has_property(plan, "reserved", "true")


def test_function_app_uses_its_managed_identity_for_package_and_key_vault():
    site = only_resource_of_type("Microsoft.Web/sites")
    assert has_property(site, "type", "'UserAssigned'")
    auth = _block_from(site, site.index("authentication:"))
    assert has_property(auth, "type", "'UserAssignedIdentity'")
    assert "keyVaultReferenceIdentity" in site


def test_basic_publishing_credentials_are_disabled_for_ftp_and_scm():
    policies = resources_of_type("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    names = {re.search(r"name:\s*'(\w+)'", p).group(1) for p in policies}
    assert names == {"ftp", "scm"}
    assert all(has_property(p, "allow", "false") for p in policies)


# --- storage -------------------------------------------------------------------------------------


def test_storage_refuses_shared_keys_and_old_tls():
    storage = only_resource_of_type("Microsoft.Storage/storageAccounts")
    assert has_property(storage, "allowSharedKeyAccess", "false")
    assert has_property(storage, "minimumTlsVersion", "'TLS1_2'")
    assert has_property(storage, "supportsHttpsTrafficOnly", "true")
    assert has_property(storage, "allowBlobPublicAccess", "false")
    assert has_property(storage, "defaultToOAuthAuthentication", "true")


def test_staging_container_and_intact_tables_exist():
    text = bicep_text()
    assert re.search(r"param stagingContainerName string = 'staging'", text)
    for table in ("intactidmap", "intactaudit", "intactmigrations"):
        assert f"'{table}'" in text
    assert resources_of_type("Microsoft.Storage/storageAccounts/tableServices/tables")
    containers = resources_of_type("Microsoft.Storage/storageAccounts/blobServices/containers")
    assert any("stagingContainerName" in c for c in containers)
    assert all(has_property(c, "publicAccess", "'None'") for c in containers)


def test_identity_gets_the_data_roles_it_needs():
    text = bicep_text()
    for role, role_id in ROLE_IDS.items():
        assert f"'{role_id}'" in text, f"missing role assignment for {role}"
    assignments = resources_of_type("Microsoft.Authorization/roleAssignments")
    assert all(
        has_property(a, "principalType", "'ServicePrincipal'") for a in assignments if "identity." in a
    )


# --- key vault -----------------------------------------------------------------------------------


def test_key_vault_uses_rbac_soft_delete_and_purge_protection():
    vault = only_resource_of_type("Microsoft.KeyVault/vaults")
    assert has_property(vault, "enableRbacAuthorization", "true")
    assert has_property(vault, "enableSoftDelete", "true")
    assert has_property(vault, "enablePurgeProtection", "true")
    assert "accessPolicies" not in vault


def test_secrets_reach_the_app_only_as_key_vault_references():
    settings_block = next(
        body
        for t, body in resources().values()
        if t == "Microsoft.Web/sites/config" and "appsettings" in body
    )
    for name in ("DATAVERSE_CLIENT_SECRET", "CLOSE_API_KEY"):
        m = re.search(rf"^\s*{name}\s*:\s*'(.*)'\s*$", settings_block, re.MULTILINE)
        assert m, f"{name} not set"
        assert m.group(1).startswith("@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/")


def test_secret_parameters_are_secure_and_empty_by_default():
    text = bicep_text()
    for param in ("dataverseClientSecret", "closeApiKey"):
        assert re.search(rf"@secure\(\)\s*\n\s*param {param} string = ''", text), param


# --- no literal secrets --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [BICEP, PARAMS, DEPLOY_DOC], ids=lambda p: p.name)
def test_no_literal_secrets(path: Path):
    text = path.read_text(encoding="utf-8")
    assert "AccountKey=" not in text
    assert "SharedAccessSignature=" not in text
    assert not re.search(r"password", text, re.IGNORECASE)
    if path == BICEP:
        assert "listKeys(" not in text
        assert "listSecrets(" not in text
        outputs = re.findall(r"^output\s+(\w+)", bicep_text(), re.MULTILINE)
        assert not [o for o in outputs if re.search(r"secret|key$|connection", o, re.IGNORECASE)]


def test_example_parameters_hold_no_secrets_and_match_template_params():
    params = json.loads(PARAMS.read_text(encoding="utf-8"))["parameters"]
    declared = set(re.findall(r"^param\s+(\w+)", bicep_text(), re.MULTILINE))
    assert set(params) <= declared
    assert "dataverseClientSecret" not in params
    assert "closeApiKey" not in params


# --- docs ----------------------------------------------------------------------------------------


def test_every_documented_app_setting_is_set_by_the_template():
    missing = app_settings_in_docs() - app_settings_in_bicep()
    assert not missing, f"documented in docs/deploy.md but not in main.bicep: {sorted(missing)}"


def test_every_app_setting_in_the_template_is_documented():
    undocumented = app_settings_in_bicep() - app_settings_in_docs()
    assert not undocumented, f"set in main.bicep but not documented: {sorted(undocumented)}"


def test_the_settings_intact_reads_are_set():
    required = {
        "INTACT_STORAGE__blobServiceUri",
        "INTACT_STORAGE__tableServiceUri",
        "DATAVERSE_URL",
        "DATAVERSE_TENANT_ID",
        "DATAVERSE_CLIENT_ID",
        "DATAVERSE_CLIENT_SECRET",
        "INTACT_DELTA_SCHEDULE",
        "AzureWebJobsStorage__accountName",
    }
    assert required <= app_settings_in_bicep()
    assert re.search(r"param deltaSchedule string = '0 \*/15 \* \* \* \*'", bicep_text())


def test_flex_consumption_settings_are_not_set():
    assert not {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE"} & (
        app_settings_in_bicep()
    )


def test_every_template_parameter_is_documented():
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    declared = re.findall(r"^param\s+(\w+)", bicep_text(), re.MULTILINE)
    assert [p for p in declared if f"`{p}`" not in doc] == []
