"""The agents: the request/answer protocol, the runner that drives `campaign run`, the demo."""
