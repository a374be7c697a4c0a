"""OIDC sign-in, offline: a small OpenID Connect provider on 127.0.0.1 issues RS256-signed id tokens with a
groups claim (as Microsoft Entra ID does), and

- the tokens it issues, verified against its JWKS, map to the right actor through `oidc_actor`;
- Streamlit's own `st.login` flow (Authlib in the real server) runs against it in Debian's Chromium, and the
  dashboard signs the person in with the role their group gives (skipped without Chromium or Playwright).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select

from rota.services import auth
from rota.services.access import Actor
from rota.storage.db import init_db
from rota.storage.models import AUDIT_LOG, USER_ACCOUNT
from tests.live_server import free_port, running

ROOT = Path(__file__).resolve().parents[1]
GROUP_MAP = {
    "0b6f3c1e-manager": "cdop_manager",
    "5d2a9e77-police": "coordinator:Vale Police",
    "9c4e2b10-commissioners": "commissioner",
}
SAM = {
    "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
    "oid": "00000000-0000-0000-66f3-3332eca7ea81",
    "tid": "9122040d-6c67-4c5b-b112-36a304b66dad",
    "preferred_username": "Sam.Manager@vale.example",
    "email": "sam.manager@vale.example",
    "name": "Sam Manager",
    "groups": ["ffffffff-unrelated", "0b6f3c1e-manager"],
}

SAM_ACCOUNT = ("sam.manager@vale.example", "cdop_manager", None)  # username, role, no password hash


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class LocalOidcProvider:
    """A small OpenID Connect provider for offline tests.

    Discovery, JWKS, an authorization endpoint that approves at once as `self.person` (there is no login
    page), a token endpoint that issues RS256 id tokens, and end-session. It checks what a real provider
    checks: the client id and secret, the registered redirect URI, single-use codes and PKCE (S256).
    """

    client_id = "rota-dashboard"
    client_secret = "local-test-client-secret"

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "local-1", "use": "sig", "alg": "RS256"})
        self.person: dict[str, Any] = dict(SAM)
        self.redirect_uris: set[str] = set()
        self.codes: dict[str, dict[str, Any]] = {}
        self.authorizations: list[dict[str, str]] = []  # the authorization requests, as sent
        self.issued: list[dict[str, Any]] = []  # the claims of the id tokens handed out
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalOidcProvider:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "name", "preferred_username", "email", "groups", "oid", "tid"],
        }

    def id_token(self, nonce: str | None, key: RSAKey | None = None) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "nbf": now, "exp": now + 3600}
        claims.update(self.person)
        if nonce:
            claims["nonce"] = nonce
        self.issued.append(claims)
        return jwt.encode({"alg": "RS256", "kid": "local-1", "typ": "JWT"}, claims, key or self.key)

    # -- the endpoints

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.authorizations.append(query)
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return 400, {}, {"error": "unauthorized_client"}
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            return 400, {}, {"error": "invalid_request", "error_description": "unregistered redirect_uri"}
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "redirect_uri": redirect_uri,
            "nonce": query.get("nonce"),
            "challenge": query.get("code_challenge"),
            "method": query.get("code_challenge_method"),
        }
        back = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        return 302, {"Location": f"{redirect_uri}?{urllib.parse.urlencode(back)}"}, None

    def _token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, str], Any]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            raw = base64.b64decode(authorization[6:]).decode()
            user, _, password = raw.partition(":")
            client_id, client_secret = urllib.parse.unquote(user), urllib.parse.unquote(password)
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return 401, {}, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # single use
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {}, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {}, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        if grant["challenge"]:
            verifier = form.get("code_verifier", "")
            if (
                grant["method"] != "S256"
                or _b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]
            ):
                return 400, {}, {"error": "invalid_grant", "error_description": "PKCE check failed"}
        body = {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid profile email",
            "id_token": self.id_token(grant["nonce"]),
        }
        return 200, {}, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:  # keep the test output quiet
                pass

            def _reply(self, status: int, headers: dict[str, str], body: Any) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    self._reply(200, {}, provider.metadata())
                elif url.path == "/jwks":
                    self._reply(200, {}, {"keys": [provider.key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    self._reply(*provider._authorize(query))
                elif url.path == "/logout":
                    back = query.get("post_logout_redirect_uri")
                    self._reply(302, {"Location": back}, None) if back else self._reply(200, {}, {})
                else:
                    self._reply(404, {}, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if urllib.parse.urlsplit(self.path).path == "/token":
                    self._reply(*provider._token(form, self.headers.get("Authorization")))
                else:
                    self._reply(404, {}, {"error": "not_found"})

        return Handler


@pytest.fixture
def provider() -> Iterator[LocalOidcProvider]:
    with LocalOidcProvider() as p:
        yield p


def verified_claims(provider: LocalOidcProvider, id_token: str, nonce: str) -> dict[str, Any]:
    """What an OIDC client does with an id token: check the signature against the provider's JWKS (found
    through discovery), then the issuer, audience, expiry and nonce."""
    meta = requests.get(provider.metadata_url, timeout=5).json()
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=5).json())
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": meta["issuer"]},
        aud={"essential": True, "value": provider.client_id},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
    ).validate(token.claims)
    return dict(token.claims)


def code_flow(provider: LocalOidcProvider) -> tuple[str, str]:
    """An authorization-code flow with PKCE by hand: returns (id_token, nonce)."""
    redirect_uri = "http://127.0.0.1:1/oauth2callback"
    provider.redirect_uris.add(redirect_uri)
    meta = requests.get(provider.metadata_url, timeout=5).json()
    verifier, nonce, state = secrets.token_urlsafe(48), secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    answer = requests.get(
        meta["authorization_endpoint"],
        params={
            "client_id": provider.client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["Location"]).query))
    assert back["state"] == state
    tokens = requests.post(
        meta["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": back["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(provider.client_id, provider.client_secret),
        timeout=5,
    )
    assert tokens.status_code == 200, tokens.text
    # A code is good once.
    again = requests.post(
        meta["token_endpoint"],
        data={"grant_type": "authorization_code", "code": back["code"], "redirect_uri": redirect_uri},
        auth=(provider.client_id, provider.client_secret),
        timeout=5,
    )
    assert again.status_code == 400
    return str(tokens.json()["id_token"]), nonce


def test_tokens_from_the_provider_verify_and_map_to_an_actor(
    db_url: str, provider: LocalOidcProvider
) -> None:
    id_token, nonce = code_flow(provider)
    claims = verified_claims(provider, id_token, nonce)
    assert claims["groups"] == SAM["groups"]
    engine = init_db(db_url)
    try:
        actor = auth.oidc_actor(engine, claims, GROUP_MAP)
        assert actor == Actor("sam.manager@vale.example", "cdop_manager", None, "Sam Manager")
        with engine.connect() as conn:
            row = conn.execute(select(USER_ACCOUNT)).one()
            audit = conn.execute(select(AUDIT_LOG.c.actor, AUDIT_LOG.c.action, AUDIT_LOG.c.entity)).all()
        assert (row.username, row.role, row.password_hash) == SAM_ACCOUNT
        assert [tuple(a) for a in audit] == [("oidc", "create", "user_account")]

        # The same person moved to the police coordinators' group signs in as a coordinator next time.
        provider.person = {**SAM, "groups": ["5d2a9e77-police"]}
        id_token, nonce = code_flow(provider)
        actor = auth.oidc_actor(engine, verified_claims(provider, id_token, nonce), GROUP_MAP)
        assert (actor.role, actor.agency) == ("coordinator", "Vale Police")

        # In no mapped group: refused, with a message for the person.
        provider.person = {**SAM, "groups": ["ffffffff-unrelated"]}
        id_token, nonce = code_flow(provider)
        with pytest.raises(auth.AuthError, match="not in any group"):
            auth.oidc_actor(engine, verified_claims(provider, id_token, nonce), GROUP_MAP)
    finally:
        engine.dispose()


def test_a_token_not_signed_by_the_provider_is_rejected(provider: LocalOidcProvider) -> None:
    forger = RSAKey.generate_key(2048, parameters={"kid": "local-1", "use": "sig", "alg": "RS256"})
    forged = provider.id_token("n-1", key=forger)
    with pytest.raises(JoseError):
        verified_claims(provider, forged, "n-1")


# ---------------------------------------------------------------------------------------------- browser


@pytest.fixture
def oidc_dashboard(tmp_path: Path, provider: LocalOidcProvider) -> Iterator[tuple[str, str]]:
    """The real dashboard server (dashboard/server.py) with [auth] and [rota_oidc] secrets pointing at the
    local provider; yields (base URL, database URL)."""
    from rota.demo import build_demo
    from rota.storage.imports import import_rota
    from rota.timeutil import SERVICE_TZ, utc_now

    db_url = f"sqlite:///{tmp_path / 'rota.db'}"
    engine = init_db(db_url)
    import_rota(engine, build_demo(utc_now().astimezone(SERVICE_TZ).date()), actor="demo", source="demo")
    engine.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider.redirect_uris.add(f"{base}/oauth2callback")
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(
        f"""
[auth]
redirect_uri = "{base}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"

[auth.testidp]
client_id = "{provider.client_id}"
client_secret = "{provider.client_secret}"
server_metadata_url = "{provider.metadata_url}"

[rota_oidc]
provider = "testidp"
provider_label = "Test IdP"
group_roles = {json.dumps(GROUP_MAP).replace('": "', '" = "')}
""",
        encoding="utf-8",
    )
    log = tmp_path / "server.log"
    env = dict(os.environ, ROTA_DATABASE_URL=db_url)
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "server.py")]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false", "--secrets.files", str(secrets_file)]
    with running(command, port, log, env=env, cwd=ROOT, timeout_s=60):
        yield base, db_url


def test_streamlit_login_against_the_local_provider_signs_in_with_the_group_role(
    oidc_dashboard: tuple[str, str], provider: LocalOidcProvider, browser: Any
) -> None:
    pytest.importorskip("authlib", reason="st.login needs Authlib (pip install -e .[oidc])")
    sync_api = pytest.importorskip("playwright.sync_api")
    base, db_url = oidc_dashboard
    # one Playwright per test session: the shared `browser` fixture (tests/conftest.py)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(base)
        page.get_by_role("button", name="Sign in with Test IdP").click(timeout=30_000)
        # Browser -> /auth/login -> provider /authorize -> /oauth2callback (code exchange, JWKS check)
        # -> the app, where st.user holds the id token's claims and the group map gives the role.
        sidebar = page.get_by_test_id("stSidebar")
        sync_api.expect(sidebar.get_by_text("Sam Manager")).to_be_visible(timeout=30_000)
        sync_api.expect(sidebar.get_by_text("CDOP manager")).to_be_visible()
        [asked] = provider.authorizations
        assert asked["code_challenge_method"] == "S256" and asked["scope"] == "openid email profile"
        assert len(provider.issued) == 1 and provider.issued[0]["nonce"] == asked["nonce"]

        sidebar.get_by_role("button", name="Sign out").click()
        sync_api.expect(page.get_by_role("button", name="Sign in with Test IdP")).to_be_visible(
            timeout=30_000
        )
        sync_api.expect(page.get_by_label("Username")).to_be_visible()
        # The identity cookie went with the sign-out: a reload does not sign back in.
        page.reload()
        sync_api.expect(page.get_by_role("button", name="Sign in with Test IdP")).to_be_visible(
            timeout=30_000
        )
    finally:
        context.close()
    engine = init_db(db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(select(USER_ACCOUNT)).one()
        assert (row.username, row.role, row.password_hash) == SAM_ACCOUNT
    finally:
        engine.dispose()
