"""The mock's model APIs (Python 3 stdlib only), a mixin for mock_server.py's
handler.  Each answers only when the token it carries is live in the token
model of mock_token.State, and counts the request in its stats (api_requests,
api_dead, api_superseded, last_api_token, last_api_user_agent):

    POST /v1/messages    an Anthropic Messages API, for the real `claude -p`
    POST /v1/responses   an OpenAI Responses API, for the real `codex exec`
                         (a model provider whose base_url is $MOCK_URL/v1)
"""

import json


def _sse(events):
    return "".join("event: %s\ndata: %s\n\n" % (name, json.dumps(data))
                   for name, data in events).encode("utf-8")


class MessagesAPI:
    def _bearer(self):
        auth = self.headers.get("Authorization") or ""
        parts = auth.split(None, 1)
        if len(parts) == 2 and parts[0].lower() == "bearer":
            return parts[1].strip()
        return None

    def _api_refused(self, token):
        """None when the token may use the API, else the reason (counted)."""
        st = self.state
        with st.cond:
            return st.api_check(token, self.headers.get("User-Agent"))

    def _responses(self, raw):
        """Answer POST /v1/responses like the OpenAI Responses API: a short
        assistant message as a server-sent event stream.  A dead token gets
        401 (so Codex would try its own refresh: a test counts that)."""
        reason = self._api_refused(self._bearer())
        if reason is not None:
            self._send_json(401, {"error": {"type": "invalid_request_error",
                                            "code": "token_expired" if reason == "expired" else reason,
                                            "message": "access token %s" % reason}})
            return
        try:
            req = json.loads(raw.decode("utf-8") or "{}")
        except (ValueError, UnicodeDecodeError):
            req = {}
        model = req.get("model") or "gpt-mock"
        item = {"type": "message", "role": "assistant", "id": "msg_mock",
                "content": [{"type": "output_text", "text": "credrun-mock-reply", "annotations": []}]}
        usage = {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": 8}
        response = {"id": "resp_mock", "object": "response", "model": model, "status": "completed",
                    "output": [item], "usage": usage}
        body = _sse([
            ("response.created", {"type": "response.created",
                                  "response": dict(response, status="in_progress", output=[])}),
            ("response.output_item.done", {"type": "response.output_item.done",
                                           "output_index": 0, "item": item}),
            ("response.completed", {"type": "response.completed", "response": response}),
        ])
        self._send(200, body, content_type="text/event-stream")

    def _messages(self, raw):
        """Answer POST /v1/messages when the Bearer (or x-api-key) token is a
        live access token: one short text reply, streamed (SSE) when asked.
        The token used is kept in stats as last_api_token: these are the
        mock's own throwaway tokens, so a test can compare them."""
        reason = self._api_refused(self._bearer() or self.headers.get("x-api-key") or None)
        if reason is not None:
            self._send_json(401, {"type": "error", "error": {
                "type": "authentication_error", "message": "OAuth token %s" % reason}})
            return
        try:
            req = json.loads(raw.decode("utf-8") or "{}")
        except (ValueError, UnicodeDecodeError):
            req = {}
        model = req.get("model") or "claude-mock"
        text = "credrun-mock-reply"
        usage = {"input_tokens": 5, "output_tokens": 3, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0}
        message = {"id": "msg_mock", "type": "message", "role": "assistant", "model": model,
                   "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}
        if not req.get("stream"):
            message.update(content=[{"type": "text", "text": text}], stop_reason="end_turn")
            self._send_json(200, message)
            return
        events = [
            ("message_start", {"type": "message_start", "message": message}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": text}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 3}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        self._send(200, _sse(events), content_type="text/event-stream")

    # ---- token endpoint ----
