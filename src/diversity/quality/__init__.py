"""Quality and refusals: which completions are real answers. Refusal detection
(rules or a local classifier), gates that keep the completions passing a
test, and the measures of diversity among good answers."""
