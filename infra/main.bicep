// Intact: Azure Durable Functions app (Python 3.11, v2 model) that migrates CRMs into Dataverse.
//
// Deploys into an existing resource group:
//   - Log Analytics workspace + Application Insights (Entra-only ingestion)
//   - Storage account (Functions host, Durable task hub, Intact staging blobs and tables);
//     shared-key access disabled, identity-based connections only
//   - User-assigned managed identity with data-plane RBAC on storage, Key Vault and App Insights
//   - Key Vault (RBAC mode, soft delete, purge protection) for the Dataverse client secret and
//     the Close API key; the app reads them through Key Vault references
//   - Flex Consumption plan (FC1) + Linux function app, HTTPS only, TLS 1.2+, FTP and basic auth off
//
// See docs/deploy.md for parameters, app settings and the publish step.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

@description('Azure region for every resource. Must be a region that offers Flex Consumption.')
param location string = resourceGroup().location

@description('Short name used to build resource names (lowercase letters and digits).')
@minLength(3)
@maxLength(10)
param appName string = 'intact'

@description('Environment label used in names and tags, e.g. dev, test, prod.')
@minLength(2)
@maxLength(8)
param environmentName string = 'prod'

@description('Tags applied to every resource.')
param tags object = {}

@description('Dataverse environment URL, e.g. https://contoso.crm.dynamics.com')
param dataverseUrl string

@description('Entra tenant that owns the Dataverse app registration. Defaults to this subscription\'s tenant.')
param dataverseTenantId string = tenant().tenantId

@description('Application (client) id of the Dataverse app registration (an application user in Dataverse).')
param dataverseClientId string

@description('Optional: Dataverse client secret, written to Key Vault. Leave empty and set it with az keyvault secret set instead.')
@secure()
param dataverseClientSecret string = ''

@description('Optional: Close API key, written to Key Vault. Leave empty and set it with az keyvault secret set instead.')
@secure()
param closeApiKey string = ''

@description('NCRONTAB schedule (six fields, UTC) of the delta-sync timer.')
param deltaSchedule string = '0 */15 * * * *'

@description('Blob container for Intact staging data.')
param stagingContainerName string = 'staging'

@description('Storage redundancy. Flex Consumption supports LRS and ZRS for the host storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param storageSku string = 'Standard_LRS'

@description('Flex Consumption: memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Flex Consumption: upper bound on instances (platform range 40-1000). Dataverse service-protection limits, not this, bound throughput.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional: object id of a user, group or service principal that may read and write Key Vault secrets (Key Vault Secrets Officer). Leave empty to grant nobody.')
param operatorPrincipalId string = ''

@description('Principal type of operatorPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'Group'

@description('Days Log Analytics keeps data.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// ---------------------------------------------------------------------------------------------
// Names and constants
// ---------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, appName, environmentName))
var baseName = '${appName}-${environmentName}'
var allTags = union({ application: 'intact', environment: environmentName }, tags)

var nameStem = toLower(replace(appName, '-', ''))
var storageAccountName = take('st${nameStem}${resourceToken}', 24)
var keyVaultName = take('kv-${nameStem}-${resourceToken}', 24)
var functionAppName = 'func-${baseName}-${resourceToken}'
var planName = 'plan-${baseName}-${resourceToken}'
var identityName = 'id-${baseName}'
var logAnalyticsName = 'log-${baseName}-${resourceToken}'
var appInsightsName = 'appi-${baseName}-${resourceToken}'
var deploymentContainerName = 'app-package'

// Tables Intact uses (prefix 'intact' + purpose): id map, audit log, migrations registry.
var intactTables = [
  'intactidmap'
  'intactaudit'
  'intactmigrations'
]

// Key Vault secret names; the app settings below reference them.
var dataverseSecretName = 'dataverse-client-secret'
var closeApiKeySecretName = 'close-api-key'

// Built-in role definition ids.
var roleIds = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var storageRoles = [
  roleIds.storageBlobDataOwner
  roleIds.storageTableDataContributor
  roleIds.storageQueueDataContributor
]

// ---------------------------------------------------------------------------------------------
// Monitoring
// ---------------------------------------------------------------------------------------------

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: allTags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: allTags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Only Entra-authenticated telemetry is accepted; the app uses its managed identity.
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: allTags
}

// ---------------------------------------------------------------------------------------------
// Storage: host, Durable task hub, deployment package, Intact staging and tables
// ---------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: allTags
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource stagingContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: stagingContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in intactTables: {
    parent: tableService
    name: tableName
  }
]

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoles: {
    name: guid(storage.id, identity.id, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// ---------------------------------------------------------------------------------------------
// Key Vault
// ---------------------------------------------------------------------------------------------

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: allTags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource dataverseSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(dataverseClientSecret)) {
  parent: keyVault
  name: dataverseSecretName
  properties: {
    value: dataverseClientSecret
    contentType: 'Dataverse app registration client secret'
  }
}

resource closeSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(closeApiKey)) {
  parent: keyVault
  name: closeApiKeySecretName
  properties: {
    value: closeApiKey
    contentType: 'Close API key'
  }
}

resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identity.id, roleIds.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource keyVaultSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(keyVault.id, operatorPrincipalId, roleIds.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsOfficer)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

resource keyVaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: keyVault
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

resource appInsightsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roleIds.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------
// Function app (Flex Consumption, Linux, Python 3.11)
// ---------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: allTags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: allTags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    // Key Vault references resolve with the user-assigned identity.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Every setting here is documented in docs/deploy.md (tests/unit/infra checks both ways).
// Flex Consumption sets the runtime in functionAppConfig: no FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION or WEBSITE_RUN_FROM_PACKAGE here.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    // Functions host + Durable Functions task hub storage, identity-based (no keys).
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId

    // Application Insights, Entra-authenticated ingestion.
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'

    // Intact staging blobs and tables, identity-based (no keys).
    INTACT_STORAGE__blobServiceUri: storage.properties.primaryEndpoints.blob
    INTACT_STORAGE__tableServiceUri: storage.properties.primaryEndpoints.table
    INTACT_STORAGE__credential: 'managedidentity'
    INTACT_STORAGE__clientId: identity.properties.clientId
    AZURE_CLIENT_ID: identity.properties.clientId

    // Dataverse target.
    DATAVERSE_URL: dataverseUrl
    DATAVERSE_TENANT_ID: dataverseTenantId
    DATAVERSE_CLIENT_ID: dataverseClientId
    DATAVERSE_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${dataverseSecretName}/)'

    // Close source API key.
    CLOSE_API_KEY: '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${closeApiKeySecretName}/)'

    // Delta-sync timer (used as %INTACT_DELTA_SCHEDULE% in the timer trigger).
    INTACT_DELTA_SCHEDULE: deltaSchedule
  }
  dependsOn: [
    // The host must be able to reach storage, Key Vault and App Insights on first start.
    storageRoleAssignments
    keyVaultSecretsUser
    appInsightsPublisher
    deploymentContainer
    stagingContainer
    tables
  ]
}

// No FTP and no basic-auth (publishing-profile) credentials; deploy with Entra credentials.
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource functionAppLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-log-analytics'
  scope: functionApp
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (no secrets)
// ---------------------------------------------------------------------------------------------

output functionAppName string = functionApp.name
output functionAppHostName string = functionApp.properties.defaultHostName
output storageAccountName string = storage.name
output keyVaultName string = keyVault.name
output keyVaultUri string = keyVault.properties.vaultUri
output managedIdentityClientId string = identity.properties.clientId
output managedIdentityPrincipalId string = identity.properties.principalId
output applicationInsightsName string = appInsights.name
output logAnalyticsWorkspaceName string = logAnalytics.name
