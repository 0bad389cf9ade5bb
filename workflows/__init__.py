"""Workflows: deployments of agents, their n8n workflows, and workflow executions."""
