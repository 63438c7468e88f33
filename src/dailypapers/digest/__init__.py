"""Email digests: select papers per subscriber, render, queue in the outbox, send over SMTP."""
