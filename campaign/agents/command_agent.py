"""``CommandAgent``: any external program answers the protocol's requests, one process per step.

``campaign.agents.protocol`` defines the request and the answer; this is the
agent that hands the request to a program (stdin or a file) and reads its
answer back (stdout or a file), with a timeout and its stderr kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campaign.agents.protocol import AgentFailed


@dataclass
class CommandAgent:
    """Runs an external program per step.

    The command gets the request on stdin and, for programs that prefer files,
    its path in ``$CAMPAIGN_REQUEST``; it answers on stdout or by writing the
    file named in ``$CAMPAIGN_ANSWER``. ``{request}`` and ``{answer}`` in the
    command line are replaced by those paths. It runs in the workspace, with
    a timeout; its stderr is kept in the record. A program that knows what
    the exchange cost may write it (``campaign.agents.usage``) to the file
    named in ``$CAMPAIGN_USAGE``.
    """

    command: str
    workspace: Path
    timeout_s: float = 600.0
    name: str = "command"

    def answer(self, request: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        import tempfile

        from campaign.agents.usage import from_command_file
        from campaign.measure.procs import run_process

        with tempfile.TemporaryDirectory(prefix="campaign-agent-") as tmp:
            req_path = Path(tmp) / "request.json"
            ans_path = Path(tmp) / "answer.json"
            usage_path = Path(tmp) / "usage.json"
            payload = json.dumps(request, indent=2, sort_keys=True, default=str)
            req_path.write_text(payload)
            cmd = self.command.replace("{request}", str(req_path)).replace("{answer}", str(ans_path))
            # only the additions: run_process puts them over an environment whose PATH starts with the
            # framework's interpreter (a copy of os.environ here would put the user's `python` first again)
            env = {"CAMPAIGN_REQUEST": str(req_path), "CAMPAIGN_ANSWER": str(ans_path), "CAMPAIGN_STEP": request["step"],
                   "CAMPAIGN_USAGE": str(usage_path)}
            proc = run_process(cmd, cwd=self.workspace, timeout_s=self.timeout_s, env=env, stdin=payload,
                               parent_death=True)  # dies with a kill -9 of the run, not minutes later
            details = {"stderr": proc.stderr, "returncode": proc.returncode, "timed_out": proc.timed_out,
                       "usage": from_command_file(usage_path.read_text()) if usage_path.exists() else None}
            if proc.timed_out:
                raise AgentFailed(f"the agent command timed out after {self.timeout_s:g} s", [details])
            if proc.returncode != 0:
                tail = proc.stderr.strip().splitlines()[-3:]
                raise AgentFailed(f"the agent command exited with {proc.returncode}: {' | '.join(tail)}", [details])
            text = ans_path.read_text() if ans_path.exists() else proc.stdout.strip()
            return text, details

