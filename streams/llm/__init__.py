"""The LLM-facing layer of the classifier: prompt, reply parsing, tokenizer, offline backends."""
