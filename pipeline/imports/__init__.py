"""Imports of CRM data (CSV, XLSX, presets for Salesforce, HubSpot and the Maven CRM sample)."""
