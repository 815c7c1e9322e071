"""The loop itself: journal and events, the state machine, stopping rules, the steps, rendered logs."""
