"""Kundenportal shared package.

`events` and `topology` are the contract between the services: every producer and
consumer imports the same models, names and codec from here. The remaining modules are
the small runtime all three services have in common (settings loading, problem+json,
health endpoints, SQL migrations, the transactional outbox), kept here so that each
service stays a thin package of its own rules.
"""
