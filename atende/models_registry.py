"""Imports every module's models so that `Base.metadata` knows all tables (for Alembic)."""


def import_all_models() -> None:
    import atende.agents.models
    import atende.core.events
    import atende.core.idempotency
    import atende.core.jobs
    import atende.core.models
    import atende.inbox.models
    import atende.whatsapp.models  # noqa: F401
