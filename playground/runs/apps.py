from __future__ import annotations

from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "playground.runs"

    def ready(self) -> None:
        from playground.keys.usage import columns_to_stop

        from . import stops

        def stop(sender: object, columns: dict[str, set[int]], **kwargs: object) -> None:
            """Press Stop on columns the keys app says must end (a removed member, a deleted
            team key, a lowered budget): any process streaming them ends them, text kept."""
            for code, positions in columns.items():
                stops.request_stop(code, positions)

        columns_to_stop.connect(stop, dispatch_uid="runs-stop-team-columns", weak=False)

        from django.db.models.signals import post_delete

        from playground.accounts.models import Membership

        from .models import Run

        def unshare(sender: object, instance: Membership, **kwargs: object) -> None:
            """A member who leaves a team takes their runs with them: the runs they shared
            with it are private again, in the transaction that removes them (docs/verdicts.md)."""
            Run.objects.filter(user_id=instance.user_id, team_id=instance.team_id).update(team=None)

        post_delete.connect(
            unshare, sender=Membership, dispatch_uid="runs-unshare-leaving-member", weak=False
        )
