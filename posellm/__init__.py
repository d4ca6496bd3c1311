"""PoseLLM: language-guided keypoint localisation with an MLP (PoseLLM) or linear (LocLLM) connector."""
