"""A scripted stand-in for the Anthropic Messages API on 127.0.0.1, for running the real Claude Code CLI offline.

``POST /v1/messages`` answers with the content blocks a ``script(body)``
function returns: as server-sent events when the request says
``stream: true`` (message_start, content_block_start/delta/stop - text_delta
or input_json_delta for ``tool_use`` blocks -, message_delta, message_stop),
else as one JSON message. Every request body is kept in ``requests`` (and
appended to ``log_path`` as JSON lines when given), so a test can show what
the client sent. Nothing here knows about ``campaign``: the script does.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

Block = dict[str, Any]
Script = Callable[[dict[str, Any]], list[Block]]


def text(value: str) -> Block:
    return {"type": "text", "text": value}


def tool_use(name: str, tool_input: dict[str, Any]) -> Block:
    return {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:20]}", "name": name, "input": tool_input}


def user_texts(body: dict[str, Any]) -> list[str]:
    """Every text the client sent as the user, in order (strings and text blocks)."""
    out = []
    for message in body.get("messages", []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            out.append(content)
        else:
            out += [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]
    return out


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks the client sent back so far, in order."""
    return [b for m in body.get("messages", []) if m.get("role") == "user" and isinstance(m.get("content"), list)
            for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.standin.record(self.path, body)
        if not self.path.split("?")[0].endswith("/v1/messages"):
            self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})
            return
        blocks = self.server.standin.script(body)
        stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
        message = {"id": f"msg_{uuid.uuid4().hex[:20]}", "type": "message", "role": "assistant",
                   "model": body.get("model", "stand-in"), "content": [], "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": 10, "output_tokens": 1}}
        if not body.get("stream"):
            self._json(200, {**message, "content": blocks, "stop_reason": stop})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self._event("message_start", {"message": message})
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                self._event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
                for chunk in _chunks(block["text"]):
                    self._event("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": chunk}})
            else:
                start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
                self._event("content_block_start", {"index": index, "content_block": start})
                for chunk in _chunks(json.dumps(block["input"])):
                    self._event("content_block_delta",
                                {"index": index, "delta": {"type": "input_json_delta", "partial_json": chunk}})
            self._event("content_block_stop", {"index": index})
        self._event("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                                      "usage": {"output_tokens": 20}})
        self._event("message_stop", {})

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        self.wfile.write(f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode())
        self.wfile.flush()

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def _chunks(value: str, size: int = 40) -> list[str]:
    return [value[i:i + size] for i in range(0, len(value), size)] or [""]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: "AnthropicStandIn"


class AnthropicStandIn:
    """``with AnthropicStandIn(script) as api:`` serves on ``api.base_url`` until the block ends."""

    def __init__(self, script: Script, log_path: Path | None = None):
        self.script = script
        self.log_path = log_path
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.standin = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def record(self, path: str, body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append({"path": path, "body": body})
            if self.log_path is not None:
                with self.log_path.open("a") as fh:
                    fh.write(json.dumps({"path": path, "body": body}) + "\n")

    def __enter__(self) -> "AnthropicStandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
