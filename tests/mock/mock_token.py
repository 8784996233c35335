"""The mock's OAuth token endpoint: the token model, its failure modes and
the admin API that drives them (Python 3 stdlib only).

Token model: one "family" per /admin/login.  Each family has exactly one
current refresh token; using it rotates it (the old one becomes "used").
Access tokens stay live until their own expiry unless the family is revoked
or, with revoke_previous_access, a rotation superseded them.

State holds everything, guarded by State.cond; TokenEndpoint and Admin are
mixins for the request handler in mock_server.py.  Tokens are never logged.
"""

import base64
import json
import secrets
import threading
import time
from urllib.parse import parse_qs

from mock_http import jdump as _jdump

DEFAULT_CLIENT_ID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
DEFAULT_SCOPES = ["user:inference", "user:profile", "user:sessions:claude_code"]

TOKEN_PATHS = ("/v1/oauth/token", "/oauth/token", "/api/v1/auth/token/refresh")
RELAY_PATH = "/api/v1/auth/token/refresh"

MODES = (
    "normal", "429", "500", "garbage", "oversized", "no_access_token",
    "redirect", "hang", "invalid_grant", "invalid_client", "invalid_scope",
    "codex_reused", "rotated_no_access_token",
)

OVERSIZED_PADDING = 200 * 1024      # ~200 KiB
HANG_MAX_SECONDS = 120

REUSED_DESCRIPTION = "refresh token already used"

HANG = object()  # sentinel response


def _new_access_token():
    return "at-" + secrets.token_hex(16)


def _new_refresh_token():
    return "rt-" + secrets.token_hex(16)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt(claims):
    """An unsigned-looking JWT (the signature is random: nothing checks it)."""
    header = _b64url(_jdump({"alg": "RS256", "typ": "JWT"}))
    return "%s.%s.%s" % (header, _b64url(_jdump(claims)), _b64url(secrets.token_bytes(16)))


def _rfc3339(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# --------------------------------------------------------------------------
# Config validation
# --------------------------------------------------------------------------

def _as_bool(key, v):
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise ValueError("%s must be a boolean" % key)


def _as_number(key, v, integer=False):
    if isinstance(v, bool):
        raise ValueError("%s must be a number" % key)
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            raise ValueError("%s must be a number" % key) from None
    if not isinstance(v, (int, float)):
        raise ValueError("%s must be a number" % key)
    if integer or float(v).is_integer():
        return int(v)
    return float(v)


def _norm_mode(key, v):
    if isinstance(v, bool) or v is None:
        raise ValueError("mode must be one of: " + ", ".join(MODES))
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    v = str(v)
    if v not in MODES:
        raise ValueError("mode must be one of: " + ", ".join(MODES))
    return v


def _norm_retry_after(key, v):
    if v is None:
        return None
    if isinstance(v, bool):
        raise ValueError("retry_after must be a string")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def _norm_nonneg(key, v):
    v = _as_number(key, v)
    if v < 0:
        raise ValueError("%s must be >= 0" % key)
    return v


def _norm_mode_count(key, v):
    v = _as_number(key, v, integer=True)
    if v < 0:
        raise ValueError("mode_count must be >= 0")
    return v


def _norm_access_format(key, v):
    if v not in ("opaque", "jwt"):
        raise ValueError("access_format must be opaque or jwt")
    return v


def _norm_client_id(key, v):
    if not isinstance(v, str):
        raise ValueError("client_id must be a string")
    return v


CONFIG_KEYS = {
    "mode": _norm_mode,
    "mode_count": _norm_mode_count,
    "retry_after": _norm_retry_after,
    "omit_refresh_token": _as_bool,
    "delay_ms": _norm_nonneg,
    "expires_in": _as_number,
    "hold": _as_bool,
    "revoke_family_on_reuse": _as_bool,
    "client_id": _norm_client_id,
    # opaque: "at-<hex>" access tokens; jwt: JWTs whose "exp" claim is their
    # expiry (Codex reads it), and OAuth answers carry an id_token too
    "access_format": _norm_access_format,
    # each rotation revokes the family's earlier access tokens: the model
    # APIs answer 401 ("superseded") for them, as a provider that allows one
    # live access token per login does
    "revoke_previous_access": _as_bool,
}


# --------------------------------------------------------------------------
# Shared state (everything guarded by State.cond)
# --------------------------------------------------------------------------

class State:
    def __init__(self, expires_in, client_id):
        self.cond = threading.Condition(threading.Lock())
        self.stop = threading.Event()   # set on shutdown; wakes hang/delay
        self.shutting_down = False
        self.defaults = {
            "mode": "normal",
            "mode_count": 0,
            "retry_after": None,
            "omit_refresh_token": False,
            "delay_ms": 0,
            "expires_in": expires_in,
            "hold": False,
            "revoke_family_on_reuse": False,
            "client_id": client_id,
            "access_format": "opaque",
            "revoke_previous_access": False,
        }
        self.config = dict(self.defaults)
        self.counters = self._fresh_counters()
        self.held = 0
        self.families = {}      # fid -> {"scopes": [...], "current_rt": str, "revoked": bool}
        self.access = {}        # access token -> (fid, expires_at)
        self.refresh = {}       # every refresh token ever issued -> fid
        self.superseded = {}    # access token revoked by a rotation -> times refused since
        self.next_fid = 1

    @staticmethod
    def _fresh_counters():
        return {
            "token_requests": 0,
            "grants": 0,
            "invalid_grant": 0,
            "errors": 0,
            "checks": 0,
            "dead_checks": 0,
            "logins": 0,
            "last_scope": None,
            "last_content_type": None,
            "last_user_agent": None,
            "agents": {},               # User-Agent -> token requests that sent it
            "last_body_keys": [],
            "last_invalid_grant_reason": None,
            "api_requests": 0,
            "api_dead": 0,
            "api_superseded": 0,        # 401s for access tokens a rotation revoked
            "last_api_token": None,
            "last_api_user_agent": None,
        }

    # -- all methods below must be called with self.cond held --

    def apply_config(self, updates):
        normalized = {}
        for key, value in updates.items():
            if key not in CONFIG_KEYS:
                raise ValueError("unknown config key: %s" % key)
            normalized[key] = CONFIG_KEYS[key](key, value)
        self.config.update(normalized)
        self.cond.notify_all()   # hold may have been switched off

    def reset(self):
        self.config = dict(self.defaults)
        self.counters = self._fresh_counters()
        for token in self.superseded:   # still revoked; refusals counted afresh
            self.superseded[token] = 0
        self.cond.notify_all()

    def release(self):
        n = self.held
        self.config["hold"] = False
        self.cond.notify_all()
        return n

    def stats(self):
        s = dict(self.counters)
        s["last_body_keys"] = list(s["last_body_keys"])
        s["agents"] = dict(s["agents"])
        refused = [n for n in self.superseded.values() if n > 0]
        s["api_superseded_tokens"] = len(refused)      # distinct superseded tokens refused
        s["api_superseded_max"] = max(refused, default=0)  # most refusals of one of them
        s["held"] = self.held
        s["mode"] = self.config["mode"]
        s["hold"] = self.config["hold"]
        s["families"] = len(self.families)
        return s

    def issue_access(self, fid, lifetime, access_format=None):
        exp = time.time() + lifetime
        if (access_format or self.config["access_format"]) == "jwt":
            at = _jwt({"exp": int(exp), "jti": secrets.token_hex(8), "mock": True})
        else:
            at = _new_access_token()
        self.access[at] = (fid, exp)
        fam = self.families.get(fid)
        if fam is not None:
            if self.config["revoke_previous_access"]:
                for old in fam["access"]:
                    self.superseded.setdefault(old, 0)
                fam["access"] = []
            fam["access"].append(at)
        return at, exp

    def login(self, scopes, lifetime, access_format=None):
        fid = self.next_fid
        self.next_fid += 1
        rt = _new_refresh_token()
        self.families[fid] = {"scopes": list(scopes), "current_rt": rt, "revoked": False,
                              "access": []}
        self.refresh[rt] = fid
        at, exp = self.issue_access(fid, lifetime, access_format)
        self.counters["logins"] += 1
        out = {
            "access_token": at,
            "refresh_token": rt,
            "expires_in": lifetime,
            "expires_at_ms": int(exp * 1000),
            "scopes": list(scopes),
        }
        if (access_format or self.config["access_format"]) == "jwt":
            out["id_token"] = _jwt({"exp": int(exp), "email": "user@example.com", "login": True})
        return out

    def take_mode(self):
        """Return the mode for this token request, consuming mode_count."""
        mode = self.config["mode"]
        if mode == "normal":
            return mode
        count = self.config.get("mode_count") or 0
        if count > 0:
            count -= 1
            self.config["mode_count"] = count
            if count == 0:
                self.config["mode"] = "normal"
        return mode

    def check_refresh(self, token):
        """None when token is its family's current refresh token, else why not."""
        fid = self.refresh.get(token) if token else None
        fam = self.families.get(fid) if fid is not None else None
        if fam is None:
            return "unknown"
        if fam["revoked"]:
            return "revoked"
        if fam["current_rt"] != token:
            return "used"
        return None

    def check_access(self, token):
        entry = self.access.get(token) if token else None
        if entry is None:
            return "unknown"
        fid, exp = entry
        if self.families[fid]["revoked"]:
            return "revoked"
        if token in self.superseded:
            return "superseded"
        if time.time() >= exp:
            return "expired"
        return None

    def api_check(self, token, user_agent):
        """check_access for a model API request, counted in stats."""
        reason = self.check_access(token)
        c = self.counters
        c["api_requests"] += 1
        c["last_api_token"] = token
        c["last_api_user_agent"] = user_agent
        if reason is not None:
            c["api_dead"] += 1
        if reason == "superseded":
            c["api_superseded"] += 1
            self.superseded[token] += 1
        return reason


# --------------------------------------------------------------------------
# Request body parsing
# --------------------------------------------------------------------------

def parse_token_body(ctype, raw):
    """Return (dict, None) or (None, error_description)."""
    if ctype == "application/json":
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None, "malformed JSON body"
        if not isinstance(obj, dict):
            return None, "JSON body must be an object"
        return obj, None
    if ctype == "application/x-www-form-urlencoded":
        try:
            text = raw.decode("ascii")
            qs = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text),
                          errors="strict")
        except (UnicodeDecodeError, ValueError):
            return None, "malformed form body"
        for k, v in qs.items():
            if len(v) != 1:
                return None, "parameter %s repeated" % k
        return {k: v[0] for k, v in qs.items()}, None
    return None, "unsupported Content-Type"


def _err(status, error, description=None, headers=None):
    body = {"error": error}
    if description:
        body["error_description"] = description
    return status, _jdump(body), headers or {}


# --------------------------------------------------------------------------
# HTTP handler


# --------------------------------------------------------------------------
# Admin API (/admin/...)
# --------------------------------------------------------------------------

class Admin:
    def _json_body(self, raw, allow_empty=True):
        if not raw.strip():
            if allow_empty:
                return {}
            raise ValueError("empty body")
        obj = json.loads(raw.decode("utf-8"))
        if not isinstance(obj, dict):
            raise ValueError("body must be a JSON object")
        return obj

    def _admin_login(self, raw):
        st = self.state
        try:
            req = self._json_body(raw)
            scopes = req.get("scopes", DEFAULT_SCOPES)
            if isinstance(scopes, str):
                scopes = scopes.split()
            if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                raise ValueError("scopes must be a list of strings")
            lifetime = req.get("expires_in")
            if lifetime is not None:
                lifetime = _as_number("expires_in", lifetime)
            access_format = req.get("access_format")
            if access_format is not None:
                access_format = _norm_access_format("access_format", access_format)
        except (ValueError, UnicodeDecodeError) as e:
            self._send_json(400, {"error": "invalid_request", "error_description": str(e)})
            return
        with st.cond:
            if lifetime is None:
                lifetime = st.config["expires_in"]
            out = st.login(scopes, lifetime, access_format)
        self._send_json(200, out)

    def _admin_config(self, raw):
        st = self.state
        try:
            req = self._json_body(raw)
            with st.cond:
                st.apply_config(req)
                cfg = dict(st.config)
        except (ValueError, UnicodeDecodeError) as e:
            self._send_json(400, {"error": "invalid_config", "error_description": str(e)})
            return
        self._send_json(200, cfg)

    def _admin_check(self, refresh=False):
        st = self.state
        auth = self.headers.get("Authorization") or ""
        token = None
        parts = auth.split(None, 1)
        if len(parts) == 2 and parts[0].lower() == "bearer":
            token = parts[1].strip()
        with st.cond:
            reason = st.check_refresh(token) if refresh else st.check_access(token)
            st.counters["checks"] += 1
            if reason is not None:
                st.counters["dead_checks"] += 1
        if reason is None:
            self._send_json(200, {"live": True})
        else:
            self._send_json(401, {"live": False, "reason": reason})

    # ---- a loopback Anthropic Messages API, for the real `claude -p` ----


# --------------------------------------------------------------------------
# Token endpoint
# --------------------------------------------------------------------------

class TokenEndpoint:
    def _token(self, path, raw):
        st = self.state
        ctype_header = self.headers.get("Content-Type")
        ctype = (ctype_header or "").split(";", 1)[0].strip().lower()
        parsed, perr = parse_token_body(ctype, raw)

        with st.cond:
            c = st.counters
            c["token_requests"] += 1
            c["last_content_type"] = ctype_header
            ua = self.headers.get("User-Agent")
            c["last_user_agent"] = ua
            c["agents"][ua or ""] = c["agents"].get(ua or "", 0) + 1
            c["last_body_keys"] = sorted(parsed) if parsed is not None else []
            scope = parsed.get("scope") if parsed is not None else None
            c["last_scope"] = scope if isinstance(scope, str) else None

            if st.config["hold"] and not st.shutting_down:
                st.held += 1
                try:
                    while st.config["hold"] and not st.shutting_down:
                        st.cond.wait()
                finally:
                    st.held -= 1

            if st.shutting_down:
                status, body, headers = _err(503, "shutting_down")
                kind = None
            else:
                mode = st.take_mode()
                if mode == "normal":
                    status, body, headers, kind = self._grant(path, ctype, parsed, perr)
                elif mode == "rotated_no_access_token":
                    status, body, headers, kind = self._grant(path, ctype, parsed, perr)
                    if status == 200:
                        # A real rotation whose answer lost its access token.
                        out = json.loads(body)
                        out.pop("access_token", None)
                        out.pop("accessToken", None)
                        body = _jdump(out)
                else:
                    status, body, headers = self._mode_response(mode)
                    kind = "mode"
            delay_ms = st.config["delay_ms"]

        if body is HANG:
            self._hang()
            return

        if delay_ms:
            st.stop.wait(delay_ms / 1000.0)

        try:
            self._send(status, body, headers)
        finally:
            with st.cond:
                if status != 200:
                    st.counters["errors"] += 1
                if kind == "grant":
                    st.counters["grants"] += 1
                elif kind == "invalid_grant":
                    st.counters["invalid_grant"] += 1

    def _hang(self):
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
        except OSError:
            return
        self.state.stop.wait(HANG_MAX_SECONDS)

    def _mode_response(self, mode):
        """Build a failure-mode response. Called with state lock held."""
        cfg = self.state.config
        if mode == "429":
            headers = {}
            if cfg.get("retry_after") is not None:
                headers["Retry-After"] = cfg["retry_after"]
            return 429, _jdump({"error": "rate_limited"}), headers
        if mode == "500":
            return 500, _jdump({"error": "server_error"}), {}
        if mode == "garbage":
            return 200, b"this is not json <html>", {}
        if mode == "oversized":
            body = {
                "access_token": _new_access_token(),
                "padding": "x" * OVERSIZED_PADDING,
                "refresh_token": _new_refresh_token(),
                "expires_in": 3600,
                "token_type": "Bearer",
            }
            return 200, _jdump(body), {}
        if mode == "no_access_token":
            return 200, _jdump({"token_type": "Bearer"}), {}
        if mode == "redirect":
            loc = "http://127.0.0.1:%d/v1/oauth/token" % self.server.server_address[1]
            return 302, b"", {"Location": loc}
        if mode == "hang":
            return 200, HANG, {}
        if mode == "invalid_grant":
            return _err(400, "invalid_grant", REUSED_DESCRIPTION)
        if mode == "invalid_client":
            return _err(401, "invalid_client")
        if mode == "invalid_scope":
            return _err(400, "invalid_scope")
        if mode == "codex_reused":
            return 401, _jdump({"error": {
                "code": "refresh_token_reused",
                "message": "Your refresh token has already been used to generate "
                           "a new access token. Please try signing in again.",
            }}), {}
        raise AssertionError(mode)

    def _grant(self, path, ctype, parsed, perr):
        """Normal token processing. Called with state lock held.

        Returns (status, body, headers, kind) with kind in
        {"grant", "invalid_grant", None}.
        """
        st = self.state
        cfg = st.config
        if perr is not None:
            return _err(400, "invalid_request", perr) + (None,)

        relay = (path == RELAY_PATH and ctype == "application/json"
                 and "refreshToken" in parsed and "grant_type" not in parsed)
        if relay:
            rt = parsed.get("refreshToken")
        else:
            if parsed.get("grant_type") != "refresh_token":
                return _err(400, "unsupported_grant_type") + (None,)
            if parsed.get("client_id") != cfg["client_id"]:
                return _err(401, "invalid_client") + (None,)
            rt = parsed.get("refresh_token")
        if not isinstance(rt, str) or not rt:
            return _err(400, "invalid_request", "missing refresh_token") + (None,)
        scope = parsed.get("scope")
        if scope is not None and not isinstance(scope, str):
            return _err(400, "invalid_request", "scope must be a string") + (None,)

        fid = st.refresh.get(rt)
        fam = st.families.get(fid) if fid is not None else None
        if fam is None or fam["revoked"] or fam["current_rt"] != rt:
            if fam is None:
                reason = "unknown"
            elif fam["revoked"]:
                reason = "revoked"
            else:
                reason = "used"
                if cfg["revoke_family_on_reuse"]:
                    fam["revoked"] = True
            st.counters["last_invalid_grant_reason"] = reason
            return _err(400, "invalid_grant", REUSED_DESCRIPTION) + ("invalid_grant",)

        lifetime = cfg["expires_in"]
        at, exp = st.issue_access(fid, lifetime)
        new_rt = None
        if not cfg["omit_refresh_token"]:
            new_rt = _new_refresh_token()
            fam["current_rt"] = new_rt
            st.refresh[new_rt] = fid

        if relay:
            out = {"accessToken": at}
            if new_rt is not None:
                out["refreshToken"] = new_rt
            out["accessTokenExpiresAt"] = _rfc3339(exp)
            out["refreshTokenExpiresAt"] = _rfc3339(time.time() + 30 * 86400)
        else:
            out = {"access_token": at}
            if new_rt is not None:
                out["refresh_token"] = new_rt
            out["expires_in"] = lifetime
            out["token_type"] = "Bearer"
            out["scope"] = scope if scope is not None else " ".join(fam["scopes"])
            if cfg["access_format"] == "jwt":
                out["id_token"] = _jwt({"exp": int(exp), "email": "user@example.com", "refreshed": True})
        return 200, _jdump(out), {"Pragma": "no-cache"}, "grant"


