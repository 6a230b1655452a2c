"""`interviewer db upgrade`: the shared database's schema, brought to this version's.

Every process also upgrades on its first store, so this is for deployments that migrate as their own
step before rolling new replicas out; it is safe to run while old replicas are up.
"""

from __future__ import annotations

import asyncio

import typer

from service.config import get_settings

app = typer.Typer(help="The database that holds the shared state (INTERVIEWER_DATABASE_URL, or SQLite).")


@app.command("upgrade")
def upgrade() -> None:
    """Run the migrations and the checkpointer's own set-up."""
    from service.agent.session import checkpointer
    from service.db import postgres_url
    from service.db import upgrade as migrate

    settings = get_settings()
    revision = migrate(settings)

    async def set_up() -> None:
        async with checkpointer(settings) as saver:
            await saver.setup()

    asyncio.run(set_up())
    where = "Postgres" if postgres_url(settings) else str(settings.db_path)
    typer.echo(f"ok: {where} is at schema revision {revision}, with the checkpoint tables")
