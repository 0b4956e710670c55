"""The dead-letter topic's way back: ``streams dlq replay`` re-publishes dead letters to the
topics they came from, once each (``replay`` says how and why)."""
