"""A loopback Anthropic Messages API, for the real `claude -p` (Python 3
stdlib only): POST /v1/messages answers when the token it carries is live in
the token model of mock_token.State.  A mixin for mock_server.py's handler.
"""

import json


class MessagesAPI:
    def _messages(self, raw):
        """Answer POST /v1/messages when the Bearer (or x-api-key) token is a
        live access token: one short text reply, streamed (SSE) when asked.
        The token used is kept in stats as last_api_token: these are the
        mock's own throwaway tokens, so a test can compare them."""
        st = self.state
        auth = self.headers.get("Authorization") or ""
        parts = auth.split(None, 1)
        token = parts[1].strip() if len(parts) == 2 and parts[0].lower() == "bearer" else \
            (self.headers.get("x-api-key") or None)
        with st.cond:
            reason = st.check_access(token)
            st.counters["api_requests"] += 1
            st.counters["last_api_token"] = token
            if reason is not None:
                st.counters["api_dead"] += 1
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
        body = "".join("event: %s\ndata: %s\n\n" % (name, json.dumps(data)) for name, data in events)
        self._send(200, body.encode("utf-8"), content_type="text/event-stream")

    # ---- token endpoint ----
