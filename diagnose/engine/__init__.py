"""The rule engine: facts, the rulebase compiled into durable-rules, justifications, findings."""
