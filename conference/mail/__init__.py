"""E-mail: composing MIME messages from outbox rows and the sender that delivers them."""
