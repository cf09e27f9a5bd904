"""A test client of the REST API with one bearer token per test user."""
from __future__ import annotations

from dataclasses import dataclass, field

from gridroute.app import create_app
from gridroute.services.users import add_user, create_token


@dataclass
class Api:
    client: object
    tokens: dict
    ctx: object
    cases: dict = field(default_factory=dict)

    def call(self, method, path, user=None, lang="en", **kw):
        headers = dict(kw.pop("headers", {}))
        if user:
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        headers.setdefault("Accept-Language", lang)
        return self.client.open(path, method=method, headers=headers, **kw)


def api_with_users(ctx, users: dict) -> Api:
    """The app on `ctx` with `users` ({name: (role, unit, scope)}) added, each with a token."""
    app = create_app(ctx.config, context=ctx)
    app.config["TESTING"] = True
    tokens = {}
    for name, (role, unit, scope) in users.items():
        add_user(ctx, name, role=role, password="correct-horse", unit_code=unit, scope=scope)
        tokens[name] = create_token(ctx, name, actor="test")[1]
    return Api(app.test_client(), tokens, ctx)
