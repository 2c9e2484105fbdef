from tests.unit.api.fixtures import anon, app, changes, client, runtime, stores

__all__ = ["anon", "app", "changes", "client", "runtime", "stores"]
