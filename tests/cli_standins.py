"""Stand-in executables for Codex CLI and aider: they parse the flags as those tools document them and act on them.

Each is a small Python script written into a tmp ``bin/`` put first on
PATH. The "model" inside is ``scripted_model`` (reads the prompt, edits the
scope file at IMPLEMENT, answers with prose and a fenced JSON block). What
each flag does is mimicked where it matters to a campaign:

* ``codex exec``: without ``--sandbox workspace-write`` (default read-only)
  the edit is refused; ``--cd`` sets the working root; the last message goes
  to stdout (with ``--json``: JSON lines, the token usage on ``turn.completed``)
  and, with ``--output-last-message FILE``, to that file; progress goes to stderr; outside a git repo it stops unless ``--skip-git-repo-check``.
* ``aider``: edits only the files named on its command line; commits its edit
  unless ``--no-auto-commits``; appends ``.aider*`` to ``.gitignore`` unless
  ``--no-gitignore``; writes its chat history to ``--chat-history-file``
  (default ``.aider.chat.history.md`` in the repo); without ``--yes-always``
  a confirmation on a non-tty stdin reads EOF and aider does nothing.

Every invocation is appended as JSON (argv) to ``$STANDIN_CALLS``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PRELUDE = '''#!{python}
import argparse, json, os, subprocess, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
import scripted_model as model
if os.environ.get("STANDIN_CALLS"):
    with open(os.environ["STANDIN_CALLS"], "a") as fh:
        fh.write(json.dumps({{"tool": Path(sys.argv[0]).name, "argv": sys.argv[1:]}}) + "\\n")
'''

CODEX = _PRELUDE + '''
parser = argparse.ArgumentParser(prog="codex")
sub = parser.add_subparsers(dest="command", required=True)
ex = sub.add_parser("exec")
ex.add_argument("-c", "--config", action="append", default=[])
ex.add_argument("-s", "--sandbox", choices=["read-only", "workspace-write", "danger-full-access"], default="read-only")
ex.add_argument("-m", "--model")
ex.add_argument("--skip-git-repo-check", action="store_true")
ex.add_argument("--ephemeral", action="store_true")
ex.add_argument("--color", choices=["always", "never", "auto"], default="auto")
ex.add_argument("-C", "--cd")
ex.add_argument("-o", "--output-last-message")
ex.add_argument("--json", action="store_true")
ex.add_argument("prompt", nargs="?")
args = parser.parse_args()
root = Path(args.cd or os.getcwd())
prompt = args.prompt if args.prompt not in (None, "-") else sys.stdin.read()
if not args.skip_git_repo_check and subprocess.run(["git", "rev-parse"], cwd=root, capture_output=True).returncode:
    print("Not inside a trusted directory and --skip-git-repo-check was not specified.", file=sys.stderr)
    sys.exit(1)
print(f"[codex] workdir: {{root}}  sandbox: {{args.sandbox}}", file=sys.stderr)
step, iteration = model.step_of(prompt)
message = model.reply(prompt)
if step == "implement":
    path = Path(model.scope_file(prompt))
    if args.sandbox == "read-only" or not path.resolve().is_relative_to(root.resolve()):
        message = "I could not apply the patch: the sandbox is read-only."
    else:
        print(f"[codex] apply_patch {{path}}", file=sys.stderr)
        path.write_text(model.new_source(iteration, path.read_text()))
if args.output_last_message:
    Path(args.output_last_message).write_text(message)
if args.json:  # JSON lines, as codex exec --json prints them; the usage on turn.completed
    for event in ({{"type": "thread.started", "thread_id": "standin"}}, {{"type": "turn.started"}},
                  {{"type": "item.completed", "item": {{"id": "item_0", "type": "agent_message", "text": message}}}},
                  {{"type": "turn.completed", "usage": {{"input_tokens": len(prompt), "cached_input_tokens": 0,
                                                        "output_tokens": len(message)}}}}):
        print(json.dumps(event))
else:
    print(message)
'''

AIDER = _PRELUDE + '''
parser = argparse.ArgumentParser(prog="aider")
parser.add_argument("--message", "--msg", "-m")
parser.add_argument("--message-file", "-f")
parser.add_argument("--yes-always", action="store_true")
parser.add_argument("--auto-commits", action=argparse.BooleanOptionalAction, default=True)
parser.add_argument("--dirty-commits", action=argparse.BooleanOptionalAction, default=True)
parser.add_argument("--gitignore", action=argparse.BooleanOptionalAction, default=True)
parser.add_argument("--check-update", action=argparse.BooleanOptionalAction, default=True)
parser.add_argument("--pretty", action=argparse.BooleanOptionalAction, default=True)
parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=True)
parser.add_argument("--chat-history-file", default=".aider.chat.history.md")
parser.add_argument("--input-history-file", default=".aider.input.history")
parser.add_argument("--map-tokens", type=int, default=1024)
parser.add_argument("--model")
parser.add_argument("files", nargs="*")
args = parser.parse_args()
prompt = args.message if args.message is not None else Path(args.message_file).read_text()
root = Path(subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True).stdout.strip() or ".")
if args.gitignore and args.yes_always:
    with open(root / ".gitignore", "a") as fh:
        fh.write(".aider*\\n")
if not args.yes_always and not sys.stdin.isatty():
    print("Add .aider* to .gitignore (recommended)? (Y)es/(N)o [Yes]: EOF", file=sys.stderr)
    sys.exit(1)
history = Path(args.chat_history_file)
history = history if history.is_absolute() else root / history
with history.open("a") as fh:
    fh.write("#### " + prompt[:80] + "\\n")
print(f"Aider v0.86.0\\nMain model: {{args.model or 'stand-in'}}\\nGit repo: {{root}}\\nAdded {{', '.join(args.files)}} to the chat.")
step, iteration = model.step_of(prompt)
if step == "implement":
    path = Path(model.scope_file(prompt))
    if str(path) not in [str(Path(f).resolve()) for f in args.files]:
        print(f"{{path}} is not in the chat: add it with /add", file=sys.stderr)
    else:
        path.write_text(model.new_source(iteration, path.read_text()))
        print(f"Applied edit to {{path.name}}")
        if args.auto_commits:
            subprocess.run(["git", "commit", "-qam", "aider: " + path.name], cwd=root)
print(model.reply(prompt))
'''


def install(bin_dir: Path, tests_dir: Path) -> Path:
    """Write ``codex`` and ``aider`` into ``bin_dir`` (executable); returns ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, source in (("codex", CODEX), ("aider", AIDER)):
        path = bin_dir / name
        path.write_text(source.format(python=sys.executable, tests=str(tests_dir)))
        path.chmod(0o755)
    return bin_dir
