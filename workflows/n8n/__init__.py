"""The n8n integration: a small client for n8n's public API and the deployment backends."""
