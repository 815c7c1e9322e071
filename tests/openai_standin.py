"""A scripted stand-in for the OpenAI Responses API on 127.0.0.1, for running the real Codex CLI offline.

``POST /v1/responses`` (``stream: true``) answers with the output items a
``script(body)`` returns - assistant messages and ``function_call`` items -
as server-sent events: response.created, response.output_item.added,
response.output_text.delta, response.output_item.done, response.completed.
Request bodies are kept in ``requests``. Codex CLI reaches it through a
custom model provider (``wire_api = "responses"``) in ``$CODEX_HOME/config.toml``.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Item = dict[str, Any]


def message(text: str) -> Item:
    return {"type": "message", "text": text}


def function_call(name: str, arguments: dict[str, Any]) -> Item:
    return {"type": "function_call", "name": name, "arguments": json.dumps(arguments)}


def user_texts(body: dict[str, Any]) -> list[str]:
    return [c.get("text", "") for item in body.get("input", []) if item.get("role") == "user"
            for c in item.get("content") or [] if c.get("type") == "input_text"]


def call_outputs(body: dict[str, Any]) -> list[str]:
    """The outputs of the function calls so far, in order."""
    return [str(item.get("output")) for item in body.get("input", []) if item.get("type") == "function_call_output"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        standin = self.server.standin
        with standin.lock:
            standin.requests.append({"path": self.path, "body": body})
        if not self.path.split("?")[0].endswith("/responses"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        response_id = f"resp_{uuid.uuid4().hex}"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self._event("response.created", {"response": {"id": response_id, "object": "response",
                                                      "status": "in_progress", "output": []}})
        output = []
        for index, spec in enumerate(standin.script(body)):
            if spec["type"] == "message":
                item = {"type": "message", "id": f"msg_{uuid.uuid4().hex}", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": spec["text"], "annotations": []}]}
                self._event("response.output_item.added",
                            {"output_index": index, "item": {**item, "status": "in_progress", "content": []}})
                self._event("response.output_text.delta", {"item_id": item["id"], "output_index": index,
                                                           "content_index": 0, "delta": spec["text"]})
            else:
                item = {"type": "function_call", "id": f"fc_{uuid.uuid4().hex}", "call_id": f"call_{uuid.uuid4().hex}",
                        "name": spec["name"], "arguments": spec["arguments"], "status": "completed"}
                self._event("response.output_item.added", {"output_index": index, "item": item})
            self._event("response.output_item.done", {"output_index": index, "item": item})
            output.append(item)
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                 "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}
        self._event("response.completed", {"response": {"id": response_id, "object": "response", "status": "completed",
                                                        "output": output, "usage": usage}})
        self.close_connection = True

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        self.wfile.write(f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode())
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: "ResponsesStandIn"


class ResponsesStandIn:
    """``with ResponsesStandIn(script) as api:`` serves on ``api.base_url`` (ends with ``/v1``)."""

    def __init__(self, script: Callable[[dict[str, Any]], list[Item]]):
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.standin = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "ResponsesStandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
