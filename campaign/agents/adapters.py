"""Adapters for real coding CLIs: ``campaign run --agent claude|codex|aider|prompt``.

Each adapter turns the protocol's JSON request into a prompt
(``campaign.agents.prompts``), runs the CLI in the workspace with a timeout
(the whole process tree is killed when it runs over), and reads the answer
from its output: the last JSON object in the model's text that matches the
step's schema. What differs between CLIs is only the command line and where
the model's final text is in the output:

* ``claude``: Claude Code headless, ``claude -p PROMPT --output-format json``;
  the JSON result's ``result`` field is the model's final text. File edits
  are allowed without prompts (``--permission-mode acceptEdits`` and the
  file tools in ``--allowedTools``); when this ``campaign`` has an MCP server
  (``campaign mcp``), it is registered with ``--mcp-config`` and its
  read-only ``status`` tool allowed (the runner drives the steps: the other
  campaign tools stay denied, so the agent cannot record steps behind it).
* ``codex``: ``codex exec --json`` in the workspace-write sandbox, never
  asking for approval; the last message is written to a file (``-o``), the
  JSON events on stdout carry the token usage.
* ``aider``: ``aider --message PROMPT --yes-always`` with the scope files,
  never committing (the framework commits), its history files kept out of
  the workspace and ``.gitignore`` untouched (any other file changed in the
  tree would count as an edit outside the scope).
* ``prompt``: any CLI that takes a prompt and prints text:
  ``--agent-cmd 'tool -p {prompt}'`` (``{prompt}`` is replaced by the prompt,
  shell-quoted; ``{prompt_file}`` by the path of a file holding it; with
  neither, the prompt goes to stdin).

The executable of claude/codex/aider is found on PATH (or given with
``--agent-cmd``, e.g. a path or a wrapper); ``CAMPAIGN_<NAME>_ARGS`` adds
arguments (e.g. ``CAMPAIGN_CLAUDE_ARGS='--model sonnet'``).

What an exchange cost is read where the CLI reports it (``campaign.agents.usage``):
Claude Code's JSON result and Codex's ``turn.completed`` events; aider and
prompt-taking CLIs report nothing, recorded as such.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campaign.agents import usage
from campaign.agents.prompts import extract_answer, render_prompt
from campaign.agents.protocol import AgentFailed

ADAPTERS = ("claude", "codex", "aider", "prompt")
CLAUDE_TOOLS = ("Read", "Edit", "Write", "Glob", "Grep", "LS")
MCP_READ_ONLY_TOOLS = ("mcp__campaign__status",)  # the runner drives the steps; the agent may look, not act


def mcp_server_available() -> bool:
    """Whether this ``campaign`` has the MCP server (``campaign mcp``) to register with the CLI."""
    import importlib.util

    return importlib.util.find_spec("campaign.agents.mcp_server") is not None


def claude_mcp_config(workspace: Path) -> str:
    """The ``--mcp-config`` JSON that registers ``campaign mcp`` (this interpreter, this workspace)."""
    try:
        from campaign.agents.mcp_config import server_command

        argv = server_command(workspace)
    except ImportError:
        argv = [sys.executable, "-m", "campaign", "mcp", "--dir", str(workspace)]
    return json.dumps({"mcpServers": {"campaign": {"type": "stdio", "command": argv[0], "args": argv[1:]}}})


def build_argv(kind: str, executable: list[str], prompt: str, workspace: Path, scope_files: list[str],
               answer_file: Path, mcp: bool = False) -> list[str]:
    """The command line for adapter ``kind`` (pure; ``executable`` is the program and any fixed arguments)."""
    extra = shlex.split(os.environ.get(f"CAMPAIGN_{kind.upper()}_ARGS", ""))
    if kind == "claude":
        tools = CLAUDE_TOOLS + (MCP_READ_ONLY_TOOLS if mcp else ())
        argv = [*executable, "-p", prompt, "--output-format", "json", "--permission-mode", "acceptEdits",
                "--allowedTools", ",".join(tools)]
        if mcp:
            argv += ["--mcp-config", claude_mcp_config(workspace), "--strict-mcp-config"]
        return argv + extra
    if kind == "codex":
        return [*executable, "exec", "--sandbox", "workspace-write", "-c", 'approval_policy="never"',
                "--skip-git-repo-check", "--color", "never", "--json", "--cd", str(workspace),
                "--output-last-message", str(answer_file), *extra, prompt]
    if kind == "aider":  # its history files go to the temp dir and .gitignore stays as it is: the tree is the scope's
        tmp = answer_file.parent
        return [*executable, "--message", prompt, "--yes-always", "--no-auto-commits", "--no-dirty-commits",
                "--no-gitignore", "--chat-history-file", str(tmp / "aider.chat.history.md"),
                "--input-history-file", str(tmp / "aider.input.history"), "--map-tokens", "0",
                "--no-check-update", "--no-pretty", "--no-stream", *extra, *scope_files]
    raise ValueError(f"no command line for adapter {kind!r}")


def prompt_command(template: str, prompt: str, prompt_file: Path) -> tuple[str, str | None]:
    """The shell command for ``--agent prompt`` and the stdin to give it (pure)."""
    if "{prompt}" in template or "{prompt_file}" in template:
        cmd = template.replace("{prompt_file}", shlex.quote(str(prompt_file))).replace("{prompt}", shlex.quote(prompt))
        return cmd, None
    return template, prompt


def final_text(kind: str, stdout: str, answer_file: Path) -> str:
    """The model's final text in a CLI's output (raises ``AgentFailed`` for a reported error)."""
    if kind == "claude":
        try:
            result = json.loads(stdout.strip().splitlines()[-1] if stdout.strip() else "")
        except (json.JSONDecodeError, IndexError):
            raise AgentFailed(f"claude printed no JSON result (--output-format json): {stdout.strip()[:200]!r}",
                              []) from None
        if not isinstance(result, dict):
            raise AgentFailed(f"claude printed {type(result).__name__}, not its JSON result", [])
        if result.get("is_error") or result.get("subtype") not in (None, "success"):
            raise AgentFailed(f"claude reported an error ({result.get('subtype')}): {str(result.get('result'))[:300]}", [])
        return str(result.get("result") or "")
    if kind == "codex" and answer_file.exists() and answer_file.read_text().strip():
        return answer_file.read_text()
    if kind == "codex":  # no -o file: the last agent message among the --json events
        from campaign.agents.usage import codex_last_message

        return codex_last_message(stdout) or stdout
    return stdout


@dataclass
class CliAgent:
    """A coding CLI as an agent: prompt in, edits in the workspace, prose with a JSON block out."""

    kind: str
    workspace: Path
    scope: list[str]
    command: str | None = None  # the executable (claude/codex/aider) or the command template (prompt)
    timeout_s: float = 1800.0

    @property
    def name(self) -> str:
        return self.kind

    def executable(self) -> list[str]:
        if self.command:
            return shlex.split(self.command)
        found = shutil.which(self.kind)
        if not found:
            raise AgentFailed(f"{self.kind} is not on PATH: install it, or name it with --agent-cmd /path/to/{self.kind}", [])
        return [found]

    def parse(self, step: str, text: str) -> tuple[dict[str, Any] | None, str | None]:
        return extract_answer(step, text)

    def prompt_for(self, request: dict[str, Any]) -> str:
        """The prompt this request becomes (``ask`` keeps it before the CLI runs, so a failure keeps it too)."""
        return render_prompt(request)

    def answer(self, request: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        from campaign.measure.procs import run_process

        prompt = render_prompt(request)
        with tempfile.TemporaryDirectory(prefix="campaign-agent-") as tmp:
            prompt_file, answer_file = Path(tmp) / "prompt.md", Path(tmp) / "last-message.txt"
            prompt_file.write_text(prompt)
            stdin: str | None = None
            if self.kind == "prompt":
                cmd: list[str] | str
                cmd, stdin = prompt_command(self.command or "", prompt, prompt_file)
            else:
                cmd = build_argv(self.kind, self.executable(), prompt, self.workspace,
                                 [str(self.workspace / f) for f in self.scope_files()], answer_file,
                                 mcp=self.kind == "claude" and mcp_server_available())
            env = {"CAMPAIGN_STEP": request["step"], "CAMPAIGN_PROMPT_FILE": str(prompt_file)}
            proc = run_process(cmd, cwd=self.workspace, timeout_s=self.timeout_s, env=env, stdin=stdin,
                               parent_death=True)  # dies with a kill -9 of the run, not minutes later
            details = {"stderr": proc.stderr, "stdout": proc.stdout, "returncode": proc.returncode,
                       "timed_out": proc.timed_out, "prompt": prompt, "usage": usage.for_cli(self.kind, proc.stdout)}
            if proc.timed_out:
                raise AgentFailed(f"{self.kind} timed out after {self.timeout_s:g} s (its process tree was killed)", [details])
            if proc.returncode != 0:
                tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-3:]
                raise AgentFailed(f"{self.kind} exited with {proc.returncode}: {' | '.join(tail)}", [details])
            try:
                return final_text(self.kind, proc.stdout, answer_file), details
            except AgentFailed as exc:  # an error result still says what it cost
                raise AgentFailed(str(exc), [details]) from None

    def scope_files(self) -> list[str]:
        """The scope's globs expanded to existing files (aider wants file names)."""
        files: list[str] = []
        for glob in self.scope:
            matches = sorted(str(p.relative_to(self.workspace)) for p in self.workspace.glob(glob) if p.is_file())
            files += matches or [glob]
        return files
