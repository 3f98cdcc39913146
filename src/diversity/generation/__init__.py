"""Generating the data: sampling completions from local models or endpoints
into resumable JSONL files (:mod:`.sampling`, :mod:`.backends`,
:mod:`.config`), personas filled in field by field (:mod:`.personas`),
perturbed prompts for attractor experiments (:mod:`.perturb`), and extracting
attributes from generated text (:mod:`.extract`)."""

from .backends import OpenAIBackend, TransformersBackend
from .config import (Backend, DecodingConfig, EndpointError, Generation, Prompt, ResumeError, prompt_seed,
                     settings_fingerprint)
from .personas import persona_table, sample_personas
from .perturb import perturbed_prompts
from .sampling import load_prompts, read_meta, sample_to_jsonl

__all__ = ["DecodingConfig", "Generation", "Prompt", "Backend", "TransformersBackend", "OpenAIBackend",
           "sample_to_jsonl", "load_prompts", "prompt_seed", "read_meta", "settings_fingerprint", "ResumeError",
           "EndpointError", "sample_personas", "persona_table", "perturbed_prompts"]
