"""TAIHRI: task-aware VLM for metric 3D keypoints (answer grammar, SFT and GRPO RFT with TRL)."""
