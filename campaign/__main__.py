import os
import signal

# A SIGTERM during start-up (before the CLI installs its handler) exits 143, as every later one does, not -15.
signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(143))

from campaign.cli import main  # noqa: E402

main()
