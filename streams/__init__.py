"""Kafka-native content moderation: LLM toxicity scoring and a training-data harvester."""

__version__ = "0.1.0"
