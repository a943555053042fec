// A small web workload: storage account, App Service plan, web app with a system-assigned
// identity, and a key vault holding the app's secret, readable by the web app (Azure RBAC).
// infra/main.json is this file compiled to ARM JSON (languageVersion 1.0).

metadata description = 'Web app with storage and a key vault holding its secret.'

@description('Environment name; part of every resource name.')
@allowed([
  'dev'
  'prod'
])
param environmentName string

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('App Service plan SKU.')
@allowed([
  'B1'
  'B2'
  'S1'
  'P1v3'
  'P2v3'
])
param appServiceSku string = 'B1'

@description('Storage account SKU.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param storageSku string = 'Standard_LRS'

@description('The application secret, stored in the key vault as app-secret.')
@secure()
param appSecret string

var suffix = uniqueString(resourceGroup().id)
var storageName = take('st${environmentName}${suffix}', 24)
var planName = 'plan-webapp-${environmentName}'
var siteName = 'app-webapp-${environmentName}-${suffix}'
var vaultName = take('kv-${environmentName}-${suffix}', 24)
var secretName = 'app-secret'
var tags = {
  application: 'webapp'
  environment: environmentName
}
// Key Vault Secrets User (built-in role): read secret contents.
var keyVaultSecretsUser = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '4633458b-17de-408a-b874-0445c86b69e6'
)

resource storage 'Microsoft.Storage/storageAccounts@2023-01-01' = {
  name: storageName
  location: location
  tags: tags
  sku: {
    name: storageSku
  }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
  }
}

resource plan 'Microsoft.Web/serverfarms@2022-09-01' = {
  name: planName
  location: location
  tags: tags
  sku: {
    name: appServiceSku
  }
  kind: 'linux'
  properties: {
    reserved: true
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
  }
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: secretName
  properties: {
    value: appSecret
  }
}

resource site 'Microsoft.Web/sites@2022-09-01' = {
  name: siteName
  location: location
  tags: tags
  kind: 'app,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: 'PYTHON|3.11'
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      healthCheckPath: '/'
      appSettings: [
        {
          name: 'ENVIRONMENT'
          value: environmentName
        }
        {
          name: 'STORAGE_BLOB_ENDPOINT'
          value: 'https://${storage.name}.blob.${environment().suffixes.storage}/'
        }
        {
          name: 'APP_SECRET'
          value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=${secretName})'
        }
      ]
    }
  }
}

resource siteReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, site.id, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: keyVaultSecretsUser
    principalId: site.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

@description('The web app\'s host name.')
output webHost string = site.properties.defaultHostName

@description('The web app\'s URL.')
output webUrl string = 'https://${site.properties.defaultHostName}'

@description('The storage account\'s blob endpoint.')
output storageBlobEndpoint string = storage.properties.primaryEndpoints.blob

@description('The key vault\'s URI.')
output keyVaultUri string = vault.properties.vaultUri

@description('The object id of the web app\'s system-assigned identity.')
output webPrincipalId string = site.identity.principalId
